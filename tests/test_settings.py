"""Settings read from the environment: newcomer defaults that follow WEB_BIND, e-mail by URL, and no
stray warnings on every command."""

import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.celery import app as celery_app
from config.env import base_url_for_bind, env_choice, env_email_url
from tests.processes import ROOT, process_env


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1:8103", "http://127.0.0.1:8103"),
        ("0.0.0.0:8103", "http://127.0.0.1:8103"),
        (":8103", "http://127.0.0.1:8103"),
        ("localhost", "http://localhost:8000"),
        ("[::]:8103", "http://[::1]:8103"),
        ("[2001:db8::5]:80", "http://[2001:db8::5]"),
        ("verifier.internal:8080", "http://verifier.internal:8080"),
    ],
)
def test_a_bind_address_gives_the_url_a_browser_on_this_machine_opens(bind, url):
    assert base_url_for_bind(bind) == url


@pytest.mark.parametrize("bind", ["unix:/run/verifier.sock", "fd://3"])
def test_a_socket_bind_gives_no_url(bind):
    assert base_url_for_bind(bind) is None


@pytest.mark.parametrize("bind", ["127.0.0.1:http", "127.0.0.1:0", "127.0.0.1:70000"])
def test_a_malformed_bind_stops_start_up_naming_web_bind(bind):
    with pytest.raises(ImproperlyConfigured, match="WEB_BIND"):
        base_url_for_bind(bind)


def settings_in_a_new_process(names: list[str], env: dict[str, str]) -> list[str]:
    """The values of these settings as a freshly started process reads them from `env`."""
    code = "from django.conf import settings\n" + "".join(f"print(settings.{name})\n" for name in names)
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PUBLIC_BASE_URL", "WEB_BIND", "ALLOWED_HOSTS", "VERIFIER_ORG_URL")
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **inherited,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "VERIFIER_VAR_DIR": str(settings.VAR_DIR),
            **env,
        },
        capture_output=True, text=True, timeout=120, check=True,
    )
    return result.stdout.splitlines()


def test_public_links_follow_web_bind_unless_public_base_url_is_set():
    followed = settings_in_a_new_process(["PUBLIC_BASE_URL", "VERIFIER_ORG_URL"], {"WEB_BIND": ":8103"})
    assert followed == ["http://127.0.0.1:8103", "http://127.0.0.1:8103"]
    assert settings_in_a_new_process(
        ["PUBLIC_BASE_URL"], {"WEB_BIND": "127.0.0.1:8103", "PUBLIC_BASE_URL": "https://factcheck.example.org/"}
    ) == ["https://factcheck.example.org"]


def test_the_host_of_the_public_url_is_allowed_by_default():
    [allowed] = settings_in_a_new_process(["ALLOWED_HOSTS"], {"WEB_BIND": "192.0.2.10:8103"})

    assert allowed == "['127.0.0.1', 'localhost', '192.0.2.10']"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_seed_demo_prints_the_sign_in_url_of_web_bind(tmp_path):
    env = {**process_env({}), "WEB_BIND": "127.0.0.1:8103", "FILESYSTEM_BROKER_DIR": str(tmp_path)}
    env.pop("PUBLIC_BASE_URL", None)

    output = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True,
    ).stdout

    assert "Sign in at http://127.0.0.1:8103/admin/" in output


def test_the_default_broker_connection_logs_no_missing_hostname_warning(caplog):
    with caplog.at_level(logging.WARNING), celery_app.connection_for_write() as connection:
        connection.info()
        connection.clone().info()

    assert not [record for record in caplog.records if "No hostname" in record.getMessage()]


def test_email_url_configures_smtp_with_tls_and_quoted_credentials(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp://desk%40example.org:p%40ss@mail.example.org:587/?tls=True&timeout=5")

    email = env_email_url("EMAIL_URL", "console://")

    assert email["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (email["EMAIL_HOST"], email["EMAIL_PORT"]) == ("mail.example.org", 587)
    assert (email["EMAIL_HOST_USER"], email["EMAIL_HOST_PASSWORD"]) == ("desk@example.org", "p@ss")
    assert (email["EMAIL_USE_TLS"], email["EMAIL_USE_SSL"], email["EMAIL_TIMEOUT"]) == (True, False, 5)


def test_email_defaults_to_the_console(monkeypatch):
    monkeypatch.delenv("EMAIL_URL", raising=False)

    assert env_email_url("EMAIL_URL", "console://")["EMAIL_BACKEND"] == (
        "django.core.mail.backends.console.EmailBackend"
    )


@pytest.mark.parametrize("url", ["smpt://mail.example.org", "mail.example.org:25", "smtp://h/?timeout=soon"])
def test_a_malformed_email_url_stops_start_up_naming_it(monkeypatch, url):
    monkeypatch.setenv("EMAIL_URL", url)

    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        env_email_url("EMAIL_URL", "console://")


def test_an_unknown_byline_policy_stops_start_up(monkeypatch):
    monkeypatch.setenv("VERIFIER_PUBLIC_BYLINES", "initials")

    with pytest.raises(ImproperlyConfigured, match="VERIFIER_PUBLIC_BYLINES must be one of names, none"):
        env_choice("VERIFIER_PUBLIC_BYLINES", "names", ("names", "none"))
