"""fetch_url runs the guarded fetcher once and stores nothing; recheck_sources re-fetches sources."""

import io
import json
import time

import pytest
from django.core.management import call_command, execute_from_command_line
from django.test import override_settings
from werkzeug import Request, Response

from claims.models import Claim, Evidence
from sources.models import Snapshot, Source
from tests.factories import rating
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.sources import source_fetch_and_apply
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

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
    source_fetch_and_apply(source_id=source.pk, token=str(source.fetch_token))
    return source


def test_recheck_sources_sync_fetches_every_source_here_and_prints_each_outcome(fetched_source):
    out = io.StringIO()
    call_command("recheck_sources", "--all", "--sync", stdout=out)

    assert f"{fetched_source.url}: fetched, same" in out.getvalue()
    assert fetched_source.snapshots.count() == 2


def test_recheck_sources_sync_checks_the_quotes_against_the_new_snapshot_as_the_worker_does(
    fetched_source, httpserver
):
    evidence = fetched_source.evidence.get()
    assert evidence.quote_status == Evidence.QuoteStatus.FOUND
    httpserver.clear_all_handlers()
    httpserver.expect_request("/drones").respond_with_data(
        PAGE.replace("exported before the attack", "exported after the attack"), content_type="text/html"
    )

    call_command("recheck_sources", "--all", "--sync", stdout=io.StringIO())

    evidence.refresh_from_db()
    assert evidence.quote_status == Evidence.QuoteStatus.NOT_FOUND
    assert evidence.quote_checked_snapshot == fetched_source.snapshots.first()


def test_recheck_sources_sync_on_an_unchanged_source_moves_nothing_a_reader_sees(
    fetched_source, fact_checker, reviewer, client
):
    claim = fetched_source.evidence.get().claim
    verdict_save_draft(actor=fact_checker, claim=claim, rating=rating("false"), summary="Not so.")
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)
    before = Claim.objects.get(pk=claim.pk).updated_at
    shown = Evidence.objects.get(source=fetched_source)
    readers = (f"/claims/{claim.pk}/", f"/api/v1/claims/{claim.pk}/", "/api/v1/claimreview/")
    # During the second of the approval, Last-Modified reads one second earlier (see
    # verifier.api.http_cache.Validators): read once that second is over.
    time.sleep(1.1)
    seen = {url: client.get(url) for url in readers}
    date_modified = seen["/api/v1/claimreview/"].json()["dataFeedElement"][0]["dateModified"]

    call_command("recheck_sources", "--all", "--sync", stdout=io.StringIO())

    assert fetched_source.snapshots.first().change == Snapshot.Change.SAME
    assert Claim.objects.get(pk=claim.pk).updated_at == before
    evidence = Evidence.objects.get(pk=shown.pk)
    assert evidence.quote_checked_snapshot_id == shown.quote_checked_snapshot_id
    assert evidence.quote_checked_at > shown.quote_checked_at
    for url, earlier in seen.items():
        again = client.get(url)
        assert (again["ETag"], again["Last-Modified"]) == (earlier["ETag"], earlier["Last-Modified"]), url
        assert client.get(url, HTTP_IF_MODIFIED_SINCE=earlier["Last-Modified"]).status_code == 304, url
    assert client.get("/api/v1/claimreview/").json()["dataFeedElement"][0]["dateModified"] == date_modified


def test_recheck_sources_sync_on_a_changed_source_moves_updated_at(fetched_source, httpserver):
    claim = fetched_source.evidence.get().claim
    before = Claim.objects.get(pk=claim.pk).updated_at
    httpserver.clear_all_handlers()
    httpserver.expect_request("/drones").respond_with_data(
        PAGE.replace("exported before the attack", "exported after the attack"), content_type="text/html"
    )

    call_command("recheck_sources", "--all", "--sync", stdout=io.StringIO())

    assert Claim.objects.get(pk=claim.pk).updated_at > before


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


def serve(httpserver, path: str, **response) -> str:
    httpserver.expect_request(path).respond_with_data(**response)
    return httpserver.url_for(path)


@pytest.mark.parametrize(
    ("make_url", "limits", "outcome", "reason_mentions"),
    [
        (lambda s: "ftp://files.example.org/report.pdf", {}, "blocked", "ftp"),
        (lambda s: "http://93.184.216.34:8080/", {"private": False}, "blocked", "8080"),
        (lambda s: "http://127.0.0.1/", {"private": False}, "blocked", "127.0.0.1"),
        (lambda s: "http://0x7f000001/", {}, "blocked", ""),
        (lambda s: "http://", {}, "invalid_url", ""),
        (lambda s: "http://nonexistent.invalid/", {"private": False}, "dns_error", ""),
        (
            lambda s: serve(s, "/big", response_data="x" * 5000, content_type="text/plain"),
            {"max_bytes": 1024},
            "too_large",
            "",
        ),
        (
            lambda s: serve(s, "/img", response_data=b"\x89PNG\r\n", content_type="image/png"),
            {},
            "unsupported_content_type",
            "image/png",
        ),
        (lambda s: serve(s, "/gone", response_data="no", status=404), {}, "http_error", "404"),
        (lambda s: serve(s, "/busy", response_data="no", status=503), {}, "http_error", "503"),
        (
            lambda s: serve(
                s, "/loop", response_data="", status=302, headers={"Location": "/loop"}
            ),
            {},
            "redirect_error",
            "",
        ),
        (
            lambda s: serve(s, "/empty", response_data="<html><body></body></html>",
                            content_type="text/html"),
            {},
            "extraction_failed",
            "",
        ),
        (
            lambda s: serve(s, "/corrupt", response_data=b"\x1f\x8b\x08\x00garbage",
                            content_type="text/html", headers={"Content-Encoding": "gzip"}),
            {},
            "decoding_error",
            "",
        ),
        (lambda s: s.url_for("/tls").replace("http://", "https://"), {}, "tls_error", ""),
        (lambda s: "http://127.0.0.1:9/", {"ports": {9}}, "connection_error", ""),
    ],
    ids=[
        "scheme", "port", "address", "numeric-host", "invalid", "dns", "too-large",
        "content-type", "404", "503", "redirect-loop", "no-text", "bad-gzip", "tls",
        "connection-refused",
    ],
)
def test_fetch_url_json_reports_each_outcome(
    httpserver, make_url, limits, outcome, reason_mentions
):
    url = make_url(httpserver)
    ports = limits.get("ports", {httpserver.port})
    with override_settings(
        SOURCES_ALLOW_PRIVATE_NETWORKS=limits.get("private", True),
        SOURCES_ALLOWED_PORTS=frozenset({80, 443, *ports}),
        SOURCES_MAX_BYTES=limits.get("max_bytes", 10 * 1024 * 1024),
    ):
        result = json.loads(fetch_url(url, "--json"))

    assert result["outcome"] == outcome, result
    assert result["reason"], "every refusal or failure says why"
    assert reason_mentions in result["reason"]


def test_fetch_url_json_reports_a_timeout(httpserver):
    def slow(request: Request) -> Response:
        time.sleep(3)
        return Response("late", content_type="text/plain")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    with override_settings(
        SOURCES_ALLOW_PRIVATE_NETWORKS=True,
        SOURCES_ALLOWED_PORTS=frozenset({httpserver.port}),
        SOURCES_TIMEOUT_READ=1.0,
        SOURCES_TIMEOUT_TOTAL=1.5,
    ):
        result = json.loads(fetch_url(httpserver.url_for("/slow"), "--json"))

    assert result["outcome"] == "timeout"


def test_fetch_url_never_prints_the_password_of_a_url(httpserver):
    url = httpserver.url_for("/private").replace("http://", "http://editor:hunter2@")
    with override_settings(
        SOURCES_ALLOW_PRIVATE_NETWORKS=True, SOURCES_ALLOWED_PORTS=frozenset({httpserver.port})
    ):
        output = fetch_url(url, "--json")

    assert json.loads(output)["outcome"] == "blocked"
    assert "hunter2" not in output
