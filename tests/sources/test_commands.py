"""fetch_url runs the guarded fetcher once and stores nothing; recheck_sources re-fetches sources."""

import io
import json

import pytest
from django.core.management import call_command, execute_from_command_line
from django.test import override_settings

from claims.services import claim_create, evidence_add
from sources.models import Snapshot, Source
from sources.services import source_fetch

pytestmark = pytest.mark.django_db

PAGE = """<!doctype html><html><head><title>Russia acquires hundreds of Iranian drones</title></head>
<body><article><h1>Russia acquires hundreds of Iranian drones</h1>
<p>Iran has also admitted to sending drones to Russia, but Iran says that these drones were
exported before the attack on Ukraine.</p>
<p>White House spokesman John Kirby said that in bilateral relations between Iran and Russia,
Tehran has received extraordinary defence support from Moscow.</p></article></body></html>"""


def fetch_url(*args: str) -> str:
    out = io.StringIO()
    call_command("fetch_url", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def local_page(httpserver):
    httpserver.expect_request("/drones").respond_with_data(PAGE, content_type="text/html")
    with override_settings(
        SOURCES_ALLOW_PRIVATE_NETWORKS=True, SOURCES_ALLOWED_PORTS=frozenset({httpserver.port})
    ):
        yield httpserver.url_for("/drones")


def test_fetch_url_json_prints_one_object_with_the_outcome_title_and_body_hash(local_page):
    result = json.loads(fetch_url(local_page, "--json"))

    assert result["outcome"] == "fetched"
    assert result["reason"] == ""
    assert result["http_status"] == 200
    assert result["final_url"] == local_page
    assert result["content_type"].startswith("text/html")
    assert result["title"] == "Russia acquires hundreds of Iranian drones"
    assert len(result["content_sha256"]) == 64
    assert "exported before the attack on Ukraine" in result["text"]


def test_fetch_url_writes_nothing_to_the_database(local_page):
    fetch_url(local_page, "--json")

    assert Snapshot.objects.count() == 0
    assert Source.objects.count() == 0


def test_fetch_url_with_default_limits_reports_a_refused_url_as_blocked():
    result = json.loads(fetch_url("http://127.0.0.1:22/", "--json"))

    assert result["outcome"] == "blocked"
    assert "22" in result["reason"]
    assert result["http_status"] is None


def test_fetch_url_without_json_prints_a_readable_summary(local_page):
    output = fetch_url(local_page)

    assert output.startswith("outcome:        fetched")
    assert "title:          Russia acquires hundreds of Iranian drones" in output


def test_fetch_url_without_a_url_is_a_usage_error_with_exit_code_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "fetch_url"])

    assert exit_info.value.code == 2
    assert "url" in capsys.readouterr().err


@pytest.fixture
def fetched_source(local_page, fact_checker, settings):
    settings.MEDIA_ROOT = str(settings.VAR_DIR / "test-media")
    claim = claim_create(actor=fact_checker, text="Iran exported drones early", claimant_name="Iran")
    evidence = evidence_add(
        actor=fact_checker, claim=claim, url=local_page,
        quote="these drones were exported before the attack on Ukraine", stance="supports",
    )
    source = evidence.source
    source_fetch(source_id=source.pk, token=str(source.fetch_token))
    return source


def test_recheck_sources_sync_fetches_every_source_here_and_prints_each_outcome(fetched_source):
    out = io.StringIO()
    call_command("recheck_sources", "--all", "--sync", stdout=out)

    assert f"{fetched_source.url}: fetched, same" in out.getvalue()
    assert fetched_source.snapshots.count() == 2


def test_recheck_sources_without_sync_queues_the_fetch_after_commit(
    fetched_source, django_capture_on_commit_callbacks, monkeypatch
):
    queued: list[int] = []

    def enqueue_fetch(*, source_id: int, token: object) -> bool:
        queued.append(source_id)
        return True

    monkeypatch.setattr("sources.services.enqueue_fetch", enqueue_fetch)
    out = io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("recheck_sources", "--all", stdout=out)

    assert "Queued 1 source(s)" in out.getvalue()
    assert queued == [fetched_source.pk]
    assert fetched_source.snapshots.count() == 1


def test_recheck_sources_leaves_sources_that_are_not_due(fetched_source):
    out = io.StringIO()
    call_command("recheck_sources", "--sync", stdout=out)

    assert "Re-checked 0 source(s)." in out.getvalue()
