"""The source and snapshot admin: read-only records of every fetch, and a re-fetch action."""

import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, Evidence
from sources.models import Snapshot, Source
from tests.admin_helpers import drafted_claim, fetched_snapshot
from tests.factories import ClaimFactory, EvidenceFactory, SourceFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]


@pytest.mark.parametrize("role", ["fact_checker", "reviewer", "superuser"])
def test_source_and_snapshot_pages_render_for_every_role(role, request, as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    source = Source.objects.get()
    snapshot = Snapshot.objects.get()
    client = as_user(request.getfixturevalue(role))

    for url in (
        reverse("admin:sources_source_changelist"),
        reverse("admin:sources_source_change", args=[source.pk]),
        reverse("admin:sources_snapshot_changelist"),
        reverse("admin:sources_snapshot_change", args=[snapshot.pk]),
    ):
        assert client.get(url).status_code == 200, url
    source_page = client.get(reverse("admin:sources_source_change", args=[source.pk]))
    assert reverse("admin:claims_claim_change", args=[claim.pk]) in source_page.content.decode()
    assert reverse("admin:sources_snapshot_change", args=[snapshot.pk]) in source_page.content.decode()


def test_snapshot_list_leaves_the_extracted_text_unloaded(as_user, fact_checker):
    drafted_claim(fact_checker)

    response = as_user(fact_checker).get(reverse("admin:sources_snapshot_changelist"))

    (snapshot,) = response.context["cl"].result_list
    assert "text" in snapshot.get_deferred_fields()


def test_sources_and_snapshots_are_read_only_even_for_superusers(as_user, superuser, fact_checker):
    drafted_claim(fact_checker)
    source, snapshot = Source.objects.get(), Snapshot.objects.get()
    client = as_user(superuser)

    assert client.get(reverse("admin:sources_source_add")).status_code == 403
    assert client.get(reverse("admin:sources_snapshot_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:sources_source_change", args=[source.pk]), {"url": "https://evil.example/"}
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("admin:sources_snapshot_delete", args=[snapshot.pk])).status_code == 403
    )
    assert Source.objects.get().url == "https://news.example.org/iran-drones"


def test_fact_checker_re_fetches_sources_with_the_action(
    as_user, fact_checker, queued, django_capture_on_commit_callbacks
):
    drafted_claim(fact_checker)
    source = Source.objects.get()
    Source.objects.filter(pk=source.pk).update(status=Source.Status.FETCHED, fetch_token=None)
    queued.reset_mock()

    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(fact_checker).post(
            reverse("admin:sources_source_changelist"),
            {"action": "refetch", "_selected_action": [str(source.pk)]},
            follow=True,
        )

    assert "Queued a fetch of 1 source." in [str(m) for m in response.context["messages"]]
    source.refresh_from_db()
    assert source.status == Source.Status.PENDING
    queued.assert_called_once_with(source_id=source.pk, token=source.fetch_token)


def test_reviewers_are_not_offered_the_re_fetch_action(as_user, reviewer, fact_checker, queued):
    drafted_claim(fact_checker)
    queued.reset_mock()
    client = as_user(reviewer)

    page = client.get(reverse("admin:sources_source_changelist"))
    client.post(
        reverse("admin:sources_source_changelist"),
        {"action": "refetch", "_selected_action": [str(Source.objects.get().pk)]},
    )

    assert "refetch" not in page.content.decode()
    queued.assert_not_called()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


BODY = b"<html><body><script>alert('x')</script><p>Iran has admitted it.</p></body></html>"
TEXT = (
    "Iran has admitted to sending drones to Russia, but “Iran says that these drones were "
    "exported before the attack on Ukraine”. <b>Not markup</b> & more."
)


def two_claims_citing_one_snapshot(fact_checker, *, other_quote: str) -> tuple[Claim, Evidence, Snapshot]:
    """A claim citing a source, another citing it with `other_quote`, and the source's snapshot
    of TEXT: the first claim, its evidence and the snapshot."""
    claim = drafted_claim(fact_checker, checked=False)
    evidence = claim.evidence.select_related("source").get()
    other = drafted_claim(
        fact_checker, text="Another claim", url=evidence.source.url, checked=False
    ).evidence.get()
    Evidence.objects.filter(pk=other.pk).update(quote=other_quote)
    return claim, evidence, fetched_snapshot(evidence.source, text=TEXT, body=BODY)


def test_snapshot_page_highlights_the_quotes_citing_the_source(as_user, fact_checker, media_root):
    claim, evidence, snapshot = two_claims_citing_one_snapshot(
        fact_checker, other_quote="Iran denies everything"
    )

    response = as_user(fact_checker).get(reverse("admin:sources_snapshot_change", args=[snapshot.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    # The quote as written in the text (curly quotes and all) is marked, and the rest escaped.
    assert (
        f'<span id="quote-{evidence.pk}"></span><mark class="quote" title="Evidence #{evidence.pk}'
        f' (claim #{claim.pk})">Iran says that these drones were exported before the attack on'
        " Ukraine</mark>"
    ) in page
    assert "&lt;b&gt;Not markup&lt;/b&gt; &amp; more." in page
    assert "<b>Not markup</b>" not in page
    assert f'<a href="#quote-{evidence.pk}">show</a>' in page
    assert "not in this text" in page  # the other claim's quote
    # The metadata a reviewer checks.
    for shown in (
        "https://news.example.org/iran-drones?amp=1",
        "93.184.216.34",
        "&quot;status&quot;: 301",
        snapshot.content_sha256,
        reverse("admin:sources_snapshot_body", args=[snapshot.pk]),
    ):
        assert shown in page, shown


def test_raw_body_downloads_as_an_attachment_never_as_a_page(as_user, reviewer, fact_checker, media_root):
    claim = drafted_claim(fact_checker, checked=False)
    snapshot = fetched_snapshot(claim.evidence.get().source, text=TEXT, body=BODY)

    response = as_user(reviewer).get(reverse("admin:sources_snapshot_body", args=[snapshot.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == (
        f'attachment; filename="snapshot-{snapshot.pk}-{snapshot.content_sha256[:12]}.html"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    body = b"".join(response.streaming_content)
    assert body == BODY
    assert hashlib.sha256(body).hexdigest() == snapshot.content_sha256


def test_body_edited_on_disk_is_refused_with_an_alert(as_user, reviewer, fact_checker, media_root):
    claim = drafted_claim(fact_checker, checked=False)
    snapshot = fetched_snapshot(claim.evidence.get().source, text=TEXT, body=BODY)
    (media_root / snapshot.body.name).write_bytes(BODY.replace(b"admitted", b"denied"))

    response = as_user(reviewer).get(
        reverse("admin:sources_snapshot_body", args=[snapshot.pk]), follow=True
    )

    assert response.redirect_chain == [
        (reverse("admin:sources_snapshot_change", args=[snapshot.pk]), 302)
    ]
    alert = next(iter(response.context["messages"]))
    assert alert.level_tag == "error"
    assert f"snapshot {snapshot.pk}: {snapshot.body.name} expected {snapshot.content_sha256}" in str(alert)


def test_raw_body_is_for_staff_only(client, fact_checker, media_root):
    claim = drafted_claim(fact_checker, checked=False)
    snapshot = fetched_snapshot(claim.evidence.get().source, text=TEXT, body=BODY)
    url = reverse("admin:sources_snapshot_body", args=[snapshot.pk])

    anonymous = client.get(url)
    client.force_login(UserFactory(is_staff=False))
    not_staff = client.get(url)

    assert anonymous.status_code == not_staff.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))


def test_a_snapshot_without_a_body_has_nothing_to_download(as_user, fact_checker):
    drafted_claim(fact_checker)
    snapshot = Snapshot.objects.get()

    page = as_user(fact_checker).get(reverse("admin:sources_snapshot_change", args=[snapshot.pk]))
    download = as_user(fact_checker).get(reverse("admin:sources_snapshot_body", args=[snapshot.pk]))

    assert "no body kept" in page.content.decode()
    assert download.status_code == 404


def test_source_page_lists_snapshots_newest_first_and_links_every_citing_claim(
    as_user, fact_checker, media_root
):
    claim = drafted_claim(fact_checker)
    source = Source.objects.get()
    citing_too = drafted_claim(fact_checker, text="Second claim", url=source.url)
    newest = fetched_snapshot(source, text=TEXT, body=BODY)
    client = as_user(fact_checker)

    response = client.get(reverse("admin:sources_source_change", args=[source.pk]))
    claims = client.get(reverse("admin:claims_claim_changelist"), {"source": source.pk})
    ClaimFactory()  # cites nothing

    snapshots = [form.instance for form in response.context["inline_admin_formsets"][0].formset.forms]
    assert snapshots == sorted(snapshots, key=lambda row: (row.fetched_at, row.pk), reverse=True)
    assert snapshots[0] == newest
    assert len(snapshots) == Snapshot.objects.filter(source=source).count() == 3
    page = response.content.decode()
    assert f"{reverse('admin:claims_claim_changelist')}?source={source.pk}" in page
    assert set(claims.context["cl"].result_list) == {claim, citing_too}


def test_source_list_filters_by_outcome_and_last_fetch(as_user, fact_checker):
    fresh = SourceFactory(
        status=Source.Status.FETCHED, outcome="fetched", last_fetched_at=timezone.now()
    )
    failed = SourceFactory(
        status=Source.Status.FAILED,
        outcome="http_error",
        outcome_reason="HTTP 404",
        last_fetched_at=timezone.now() - timedelta(days=60),
    )
    never = SourceFactory()
    EvidenceFactory(source=failed)
    EvidenceFactory(source=failed)
    client = as_user(fact_checker)
    url = reverse("admin:sources_source_changelist")

    def listed(**params):
        return set(client.get(url, params).context["cl"].result_list)

    assert listed(outcome="http_error") == {failed}
    assert listed(fetched="day") == {fresh}
    assert listed(fetched="older") == {failed}
    assert listed(fetched="never") == {never}
    response = client.get(url, {"outcome": "http_error"})
    assert response.context["cl"].result_list[0].evidence_count == 2
    assert '<span class="badge badge-bad" title="HTTP 404">http error</span>' in response.content.decode()


def test_snapshot_page_marks_the_passage_closest_to_a_quote_not_found(as_user, fact_checker, media_root):
    claim, evidence, snapshot = two_claims_citing_one_snapshot(
        fact_checker, other_quote="Completely unrelated words about tea"
    )
    unrelated = Evidence.objects.exclude(pk=evidence.pk).get()
    Evidence.objects.filter(pk=evidence.pk).update(
        quote="Iran says these drones were exported before the war in Ukraine"
    )

    response = as_user(fact_checker).get(reverse("admin:sources_snapshot_change", args=[snapshot.pk]))

    page = response.content.decode()
    [hint] = response.context["adminform"].form.instance.__dict__["_quotes"][1:]
    assert hint.evidence.pk == evidence.pk and hint.closest is not None
    similarity = f"{hint.similarity:.0f}"
    # Marked in the text as found quotes are, with its similarity, and linked from the quote's row.
    assert (
        f'<span id="closest-{evidence.pk}"></span><mark class="quote" title="Closest passage to'
        f" evidence #{evidence.pk} (claim #{claim.pk}), {similarity}% similar\">“Iran says that these"
        " drones were exported before the attack on Ukraine”.</mark>"
    ) in page
    assert f"Closest passage ({similarity}% similar)" in page
    assert f'<a href="#closest-{evidence.pk}">show</a>' in page
    # Nothing is offered for a quote that resembles nothing in the text.
    assert f"closest-{unrelated.pk}" not in page
