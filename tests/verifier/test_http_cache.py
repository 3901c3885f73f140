"""Conditional GET and the response cache of the public read endpoints (verifier.api.http_cache)."""

from unittest import mock

import pytest
from django.utils.http import http_date

from core import content_version
from core.errors import DomainError
from tests.verifier.conftest import record_fetch
from verifier.api import http_cache
from verifier.models import Rating
from verifier.services.claims import claim_create, claim_update

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

READ_ENDPOINTS = {
    "list": lambda claim: "/api/v1/claims/",
    "detail": lambda claim: f"/api/v1/claims/{claim.pk}/",
    "claimreview": lambda claim: f"/api/v1/claims/{claim.pk}/claimreview/",
    "feed": lambda claim: "/api/v1/claimreview/",
    "page": lambda claim: f"/claims/{claim.pk}/",
}


def refuse_rendering(monkeypatch):
    """From now on, any attempt to render a claim, as JSON or as a page, fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("rendered a response that the validators should have answered")

    monkeypatch.setattr("verifier.api.claims_read.claim_records", refuse)
    monkeypatch.setattr("verifier.views.render", refuse)
    monkeypatch.setattr("verifier.api.claims_read.claim_review_of", refuse)
    monkeypatch.setattr("verifier.api.claims_read.claim_review_feed", refuse)


@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
def test_every_read_endpoint_answers_both_conditional_headers_with_304(
    client, published_claim, settled, endpoint
):
    url = READ_ENDPOINTS[endpoint](published_claim)
    first = client.get(url)
    assert first.status_code == 200
    assert first["ETag"] and first["Last-Modified"]

    by_etag = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert (by_etag.status_code, by_date.status_code) == (304, 304)
    assert by_etag["ETag"] == first["ETag"] and by_etag.content == b""


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "not-cached"])
@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
def test_304_is_answered_without_rendering_or_a_query(
    client, published_claim, settled, endpoint, cached, monkeypatch, django_assert_num_queries
):
    url = READ_ENDPOINTS[endpoint](published_claim)
    etag = client.get(url)["ETag"]
    refuse_rendering(monkeypatch)
    if not cached:
        monkeypatch.setattr(http_cache, "_caching_enabled", lambda: False)

    with django_assert_num_queries(0):
        response = client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304


def test_a_cached_response_is_served_without_a_query(client, make_published_claim, django_assert_num_queries):
    for _ in range(3):
        make_published_claim()
    rendered = client.get("/api/v1/claims/")

    with django_assert_num_queries(0):
        cached = client.get("/api/v1/claims/")

    assert cached.status_code == 200
    assert cached.content == rendered.content
    assert cached["ETag"] == rendered["ETag"]
    assert cached["Content-Type"] == rendered["Content-Type"]
    # The headers the rest of the stack added are replayed.
    assert cached["X-Content-Type-Options"] == "nosniff"
    assert "Authorization" in cached["Vary"]


def test_a_token_client_is_served_from_the_cache_after_authentication(
    client_for, make_published_claim, django_assert_num_queries
):
    from tests.factories import UserFactory

    make_published_claim()
    api_client = client_for(UserFactory(is_staff=False))
    rendered = api_client.get("/api/v1/claims/")

    # The token lookup only.
    with django_assert_num_queries(1):
        cached = api_client.get("/api/v1/claims/")

    assert cached.content == rendered.content


def test_a_publish_shows_in_the_very_next_list_response(client, make_published_claim):
    first = make_published_claim()
    before = client.get("/api/v1/claims/")

    second = make_published_claim()
    after = client.get("/api/v1/claims/")
    revalidated = client.get("/api/v1/claims/", HTTP_IF_NONE_MATCH=before["ETag"])

    assert [item["id"] for item in before.json()["results"]] == [first.pk]
    assert [item["id"] for item in after.json()["results"]] == [second.pk, first.pk]
    assert after["ETag"] != before["ETag"]
    assert revalidated.status_code == 200


def test_a_link_rot_flag_shows_in_the_very_next_response(client, published_claim):
    url = f"/api/v1/claims/{published_claim.pk}/"
    before = client.get(url)

    record_fetch(published_claim.evidence.get().source, text="The page now says something else.")
    after = client.get(url, HTTP_IF_NONE_MATCH=before["ETag"])

    assert before.json()["flag"] == []
    assert after.status_code == 200
    assert [entry["kind"] for entry in after.json()["flag"]] == ["changed"]


def test_a_correction_shows_in_the_very_next_page(client, published_claim, fact_checker, reviewer):
    from tests.factories import rating
    from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

    url = f"/claims/{published_claim.pk}/"
    client.get(url)
    verdict_save_draft(
        actor=fact_checker, claim=published_claim, rating=rating("true"), summary="Corrected summary.",
        correction_note="Rating corrected after new reporting.",
    )
    claim_submit(actor=fact_checker, claim=published_claim)
    verdict_approve(actor=reviewer, claim=published_claim)

    assert "Corrected summary." in client.get(url).content.decode()


def test_editing_a_rating_label_invalidates(client, published_claim, fact_checker):
    url = f"/api/v1/claims/{published_claim.pk}/"
    client.get(url)

    # A published claim's tags are its public record (issue 9, finding 2): a direct edit is refused.
    with pytest.raises(DomainError):
        claim_update(actor=fact_checker, claim=published_claim, tags=["drones", "iran"])
    assert client.get(url).json()["tags"] == ["drones"]

    Rating.objects.filter(slug="false").update(label="Wrong")  # an update() bypasses signals
    Rating.objects.get(slug="false").save()
    assert client.get(url).json()["verdict"]["rating"]["label"] == "Wrong"


def test_a_draft_changes_nothing_public(client, published_claim, fact_checker, settled):
    etag = client.get("/api/v1/claims/")["ETag"]

    claim_create(actor=fact_checker, text="A draft nobody can see yet", claimant_name="Someone new")

    assert client.get("/api/v1/claims/", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_anonymous_and_staff_never_share_a_cached_response(client, client_for, fact_checker, published_claim):
    claim_create(actor=fact_checker, text="A draft only staff can read", claimant_name="Iran")
    staff = client_for(fact_checker)
    url = "/api/v1/claims/?status=draft,published"

    staff_first = staff.get(url)
    anonymous = client.get(url)
    staff_again = staff.get(url)

    assert len(staff_first.json()["results"]) == 2
    assert [item["status"] for item in anonymous.json()["results"]] == ["published"]
    assert len(staff_again.json()["results"]) == 2
    # Staff get an ETag of the body they read, since drafts do not move the public version.
    assert not staff_first["ETag"].startswith("W/")
    assert staff.get(url, HTTP_IF_NONE_MATCH=staff_first["ETag"]).status_code == 304


def test_a_signed_in_person_is_served_a_fresh_page(client, published_claim, fact_checker):
    url = f"/claims/{published_claim.pk}/"
    client.get(url)
    client.force_login(fact_checker)

    with mock.patch.object(http_cache, "_serve", side_effect=AssertionError("served from the cache")):
        assert client.get(url).status_code == 200


def test_a_bad_request_is_neither_cached_nor_answered_304(client, published_claim):
    url = "/api/v1/claims/?rating=nonsense"

    assert client.get(url).status_code == 400
    assert client.get(url, HTTP_IF_NONE_MATCH="*").status_code == 400
    assert client.get(f"/api/v1/claims/{published_claim.pk + 1}/", HTTP_IF_NONE_MATCH="*").status_code == 404


def test_accept_selects_a_different_cached_representation(client, published_claim):
    url = f"/api/v1/claims/{published_claim.pk}/claimreview/"

    as_json_ld = client.get(url, HTTP_ACCEPT="application/ld+json")
    as_json = client.get(url, HTTP_ACCEPT="application/json")

    assert as_json_ld["Content-Type"].startswith("application/ld+json")
    assert as_json["Content-Type"].startswith("application/json")
    assert as_json["ETag"] != as_json_ld["ETag"]


def test_caching_turned_off_still_answers_conditional_requests(
    client, published_claim, settings, django_assert_num_queries
):
    settings.API_CACHE_SECONDS = 0
    first = client.get("/api/v1/claims/")

    with django_assert_num_queries(4):  # rendered again, not answered from the cache
        client.get("/api/v1/claims/")
    assert client.get("/api/v1/claims/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_last_modified_hedges_by_a_second_while_the_change_is_that_recent():
    version = 1_700_000_000_250_000  # µs
    changed = 1_700_000_000

    with mock.patch.object(http_cache.time, "time", return_value=changed + 0.5):
        during = http_cache.Validators.of(version, "key")
    with mock.patch.object(http_cache.time, "time", return_value=changed + 1.0):
        after = http_cache.Validators.of(version, "key")

    assert (during.last_modified, after.last_modified) == (changed - 1, changed)
    assert http_date(after.last_modified) == "Tue, 14 Nov 2023 22:13:20 GMT"


def test_the_version_moves_now_and_again_after_commit(django_capture_on_commit_callbacks):
    start = content_version.public_content_version()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        content_version.public_content_changed()
        moved_now = content_version.public_content_version()
    for callback in callbacks:
        callback()

    assert start is not None and moved_now is not None
    assert start < moved_now < content_version.public_content_version()


def test_file_version_survives_a_missing_or_torn_file(tmp_path):
    store = content_version._FileVersion(tmp_path / "version")
    first = store.read()
    (tmp_path / "version").write_text("")

    assert store.read() > first
