"""Small, strict readers of environment variables: a bad value stops start-up with a clear message."""

import os
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import dj_email_url
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}") from None
    if value <= minimum:
        raise ImproperlyConfigured(f"{name} must be greater than {minimum}; got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int_set(name: str, default: set[int]) -> frozenset[int]:
    items = env_list(name, [str(item) for item in sorted(default)])
    try:
        return frozenset(int(item) for item in items)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a comma-separated list of port numbers; got {os.environ[name]!r}"
        ) from None


_RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NO_LIMIT = {"", "none", "off", "unlimited"}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """A request rate such as "120/minute" as (120 requests, 60 seconds); None for "none"."""
    if rate is None or rate.strip().lower() in _NO_LIMIT:
        return None
    count, _, period = rate.strip().partition("/")
    seconds = _RATE_PERIODS.get(period.strip()[:1].lower())
    if not count.strip().isdigit() or seconds is None:
        raise ImproperlyConfigured(
            "A rate is a number of requests per second, minute, hour or day, such as '120/minute', "
            f"or 'none'; got {rate!r}"
        )
    return int(count), seconds


def env_rate(name: str, default: str) -> str:
    raw = os.environ.get(name, default)
    try:
        parse_rate(raw)
    except ImproperlyConfigured as error:
        raise ImproperlyConfigured(f"{name}: {error}") from None
    return raw


_HEADER = re.compile(r"^\s*([A-Za-z0-9-]+)\s*:\s*(\S+)\s*$")


def env_header(name: str) -> tuple[str, str] | None:
    """A request header and the value that marks a request, written as HTTP writes it
    ("X-Forwarded-Proto: https"), as Django's (META key, value); None when unset."""
    raw = os.environ.get(name, "")
    if not raw.strip():
        return None
    match = _HEADER.match(raw)
    if not match:
        raise ImproperlyConfigured(
            f"{name} must be a header and its value, such as 'X-Forwarded-Proto: https'; got {raw!r}"
        )
    header, value = match.groups()
    return "HTTP_" + header.upper().replace("-", "_"), value


# Words of the placeholders that example files and tutorials ship as keys.
_PLACEHOLDER_WORDS = (
    "change-me", "changeme", "change_me", "placeholder", "not-a-secret", "insecure", "example",
)


def secret_key_weakness(key: str) -> str:
    """Why a key must not sign anything in production (Django's own criteria, and placeholder
    words), or ''."""
    if key.startswith(SECRET_KEY_INSECURE_PREFIX):
        return f"it starts with {SECRET_KEY_INSECURE_PREFIX!r}, the mark of a generated development key"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"it is shorter than {SECRET_KEY_MIN_LENGTH} characters"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return f"it has fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS} different characters"
    word = next((word for word in _PLACEHOLDER_WORDS if word in key.lower()), "")
    return f"it contains {word!r}: a placeholder, not a secret" if word else ""


def env_choice(name: str, default: str, choices: Sequence[str]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def env_email_url(name: str, default: str) -> dict[str, Any]:
    """The EMAIL_* settings of an e-mail URL such as smtp://user:pass@host:587/?tls=True."""
    raw = os.environ.get(name, default)
    scheme = urlsplit(raw).scheme
    # dj-email-url leaves EMAIL_BACKEND out for a scheme it does not know, and Django would then
    # quietly try SMTP on localhost.
    if scheme not in dj_email_url.SCHEMES:
        known = ", ".join(f"{known}://" for known in dj_email_url.SCHEMES)
        raise ImproperlyConfigured(f"{name} must start with one of {known}; got {raw!r}")
    try:
        return dict(dj_email_url.parse(raw))
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} is not a valid e-mail URL: {error}") from None


# gunicorn's port when a bind names none.
_GUNICORN_DEFAULT_PORT = "8000"
_ANY_ADDRESS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def base_url_for_bind(bind: str) -> str | None:
    """The http:// URL a browser on this machine reaches a gunicorn `--bind` address at; None for a
    Unix socket or an inherited file descriptor, which no browser reaches."""
    bind = bind.strip()
    if bind.startswith(("unix:", "fd://")):
        return None
    if bind.startswith("["):
        host, _, rest = bind[1:].partition("]")
        port = rest.removeprefix(":") or _GUNICORN_DEFAULT_PORT
    elif bind.count(":") == 1:
        host, port = bind.split(":")
    else:
        host, port = bind, _GUNICORN_DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"WEB_BIND must be HOST:PORT (e.g. 127.0.0.1:8000); got {bind!r}")
    host = _ANY_ADDRESS.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}" if port == "80" else f"http://{host}:{port}"
