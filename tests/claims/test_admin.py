"""The claim admin: fact-checkers record claims and evidence through the services, reviewers read."""

from unittest import mock

import pytest
from django.db import connection
from django.urls import reverse

from claims.models import Claim, Claimant, Evidence, Tag
from claims.services import tags_get_or_create
from sources.models import Source
from tests.admin_helpers import QUOTE, admin_form_data, claim_url, drafted_claim
from tests.factories import ClaimantFactory, ClaimFactory, rating
from verifier.models import ReviewLogEntry, Verdict
from verifier.services.claims import claim_create, claim_update
from verifier.services.verdicts import (
    claim_request_changes,
    claim_submit,
    verdict_approve,
    verdict_save_draft,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

CHANGELIST = reverse("admin:claims_claim_changelist")
ADD = reverse("admin:claims_claim_add")


def published_claim(author, reviewer):
    claim = drafted_claim(author)
    claim_submit(actor=author, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)
    return Claim.objects.get(pk=claim.pk)


@pytest.mark.parametrize("role", ["fact_checker", "reviewer", "superuser"])
def test_claim_pages_render_for_every_role(role, request, as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    client = as_user(request.getfixturevalue(role))
    evidence = claim.evidence.get()

    for url in (
        CHANGELIST,
        claim_url(claim),
        reverse("admin:claims_claim_review_queue"),
        reverse("admin:claims_claim_history", args=[claim.pk]),
        reverse("admin:claims_evidence_changelist"),
        reverse("admin:claims_evidence_change", args=[evidence.pk]),
        reverse("admin:claims_claimant_changelist"),
        reverse("admin:claims_tag_changelist"),
    ):
        assert client.get(url).status_code == 200, url
    # Reviewers review; only fact-checkers (and superusers) record claims.
    assert client.get(ADD).status_code == (403 if role == "reviewer" else 200)


def test_claim_page_shows_each_sources_fetch_and_each_quotes_check(as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    evidence = claim.evidence.select_related("source").get()
    Source.objects.filter(pk=evidence.source_id).update(
        status=Source.Status.FETCHED, outcome="fetched", outcome_reason=""
    )

    page = as_user(fact_checker).get(claim_url(claim)).content.decode()

    assert "https://news.example.org/iran-drones" in page
    assert reverse("admin:sources_source_change", args=[evidence.source_id]) in page
    assert '<span class="badge badge-ok" title="">fetched</span>' in page
    assert '<span class="badge badge-ok" title="">found</span>' in page
    snapshot_url = reverse("admin:sources_snapshot_change", args=[evidence.quote_checked_snapshot_id])
    assert f"{snapshot_url}#quote-{evidence.pk}" in page


def test_a_failed_fetch_shows_a_red_badge_with_its_reason_and_a_quote_not_found(
    as_user, fact_checker
):
    claim = drafted_claim(fact_checker)
    evidence = claim.evidence.get()
    Source.objects.filter(pk=evidence.source_id).update(
        status=Source.Status.FAILED, outcome="http_error", outcome_reason="HTTP 404 Not Found"
    )
    Evidence.objects.filter(pk=evidence.pk).update(quote_status=Evidence.QuoteStatus.NOT_FOUND)

    page = as_user(fact_checker).get(claim_url(claim)).content.decode()

    assert (
        '<span class="badge badge-bad" title="HTTP 404 Not Found">http error</span>'
        '<small class="badge-reason">HTTP 404 Not Found</small>'
    ) in page
    assert '<span class="badge badge-bad" title="">not found</span>' in page


def test_a_pending_fetch_and_an_unchecked_quote_are_grey(as_user, fact_checker):
    claim = drafted_claim(fact_checker, checked=False)

    page = as_user(fact_checker).get(claim_url(claim)).content.decode()

    assert '<span class="badge badge-wait" title="">pending</span>' in page


def test_fact_checker_creates_a_claim_through_the_add_form(as_user, fact_checker):
    client = as_user(fact_checker)
    iran = ClaimantFactory(name="Iran")
    drones = Tag.objects.create(name="Drones", slug="drones")
    data = admin_form_data(client.get(ADD))
    data.update(
        text="Iran says the drones were exported before the invasion",
        claimant=str(iran.pk),
        claim_date="2022-10-20",
        appearance_url="https://news.example.org/iran-drones",
        tags=[str(drones.pk)],
    )

    response = client.post(ADD, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    claim = Claim.objects.get()
    assert (claim.text, claim.claimant, claim.status) == (
        "Iran says the drones were exported before the invasion",
        iran,
        Claim.Status.DRAFT,
    )
    assert list(claim.tags.all()) == [drones]
    assert claim.created_by == fact_checker
    assert claim.assignee == fact_checker  # the add form proposes its author
    logged = ReviewLogEntry.objects.get(claim=claim)
    assert (logged.action, logged.actor, logged.to_state) == (
        ReviewLogEntry.Action.CREATE,
        fact_checker,
        Claim.Status.DRAFT,
    )


def test_claim_and_its_first_evidence_are_created_in_one_form(
    as_user, fact_checker, queued, django_capture_on_commit_callbacks
):
    client = as_user(fact_checker)
    data = admin_form_data(client.get(ADD))
    data.update(
        {
            "text": "Russia has acquired hundreds of drones from Iran",
            "claimant": str(ClaimantFactory(name="John Kirby").pk),
            "new_evidence-0-url": "https://news.example.org/kirby",
            "new_evidence-0-quote": "Russia has acquired hundreds of drones",
            "new_evidence-0-stance": "supports",
        }
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(ADD, data).status_code == 302

    evidence = Evidence.objects.select_related("claim", "source").get()
    assert evidence.claim.text == "Russia has acquired hundreds of drones from Iran"
    assert evidence.source.url == "https://news.example.org/kirby"
    queued.assert_called_once_with(source_id=evidence.source_id, token=mock.ANY)


def test_adding_evidence_inline_creates_the_source_and_queues_its_fetch(
    as_user, fact_checker, queued, django_capture_on_commit_callbacks
):
    claim = claim_create(actor=fact_checker, text="Iran exported drones early", claimant_name="Iran")
    client = as_user(fact_checker)
    data = admin_form_data(client.get(claim_url(claim)))
    data.update(
        {
            "new_evidence-0-url": "https://News.Example.org/iran-drones",
            "new_evidence-0-quote": QUOTE,
            "new_evidence-0-stance": "supports",
            "new_evidence-0-note": "Iran's own account.",
        }
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(claim_url(claim), data)

    assert response.status_code == 302
    evidence = Evidence.objects.select_related("source").get(claim=claim)
    assert (evidence.quote, evidence.stance, evidence.note, evidence.author) == (
        QUOTE,
        "supports",
        "Iran's own account.",
        fact_checker,
    )
    assert evidence.source.url == "https://news.example.org/iran-drones"
    assert evidence.source.status == Source.Status.PENDING
    queued.assert_called_once_with(source_id=evidence.source_id, token=evidence.source.fetch_token)


def test_a_refused_url_is_a_field_error_and_nothing_is_saved(as_user, fact_checker, queued):
    claim = claim_create(actor=fact_checker, text="Iran exported drones early", claimant_name="Iran")
    client = as_user(fact_checker)
    data = admin_form_data(client.get(claim_url(claim)))
    data.update(
        {
            "new_evidence-0-url": "ftp://news.example.org/iran-drones",
            "new_evidence-0-quote": QUOTE,
            "new_evidence-0-stance": "supports",
        }
    )

    response = client.post(claim_url(claim), data)

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][1].formset.errors[0]
    assert "url" in errors
    assert not Evidence.objects.exists()
    assert not Source.objects.exists()
    queued.assert_not_called()


def test_removing_evidence_goes_through_the_service(as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    client = as_user(fact_checker)
    data = admin_form_data(client.get(claim_url(claim)))
    data["evidence-0-DELETE"] = "on"

    assert client.post(claim_url(claim), data).status_code == 302

    assert not claim.evidence.exists()


def test_published_claims_evidence_cannot_be_removed_or_added(as_user, fact_checker, reviewer):
    claim = published_claim(fact_checker, reviewer)

    response = as_user(fact_checker).get(claim_url(claim))

    formsets = response.context["inline_admin_formsets"]
    assert [formset.formset.prefix for formset in formsets] == ["evidence"]
    assert not formsets[0].formset.can_delete
    assert "draft a corrected verdict" in response.content.decode()


def test_fact_checker_edits_a_draft_claim_and_history_keeps_the_old_text(as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    client = as_user(fact_checker)
    data = admin_form_data(client.get(claim_url(claim)))
    data["text"] = "Iran says every drone was exported before the invasion"

    assert client.post(claim_url(claim), data).status_code == 302

    claim.refresh_from_db()
    assert claim.text == "Iran says every drone was exported before the invasion"
    texts = list(claim.history.order_by("history_id").values_list("text", flat=True))
    assert texts[0] == "Iran says the drones were exported before the invasion"
    assert texts[-1] == claim.text
    assert claim.history.latest().history_user == fact_checker


def test_a_published_claims_public_record_is_read_only(as_user, fact_checker, reviewer):
    claim = published_claim(fact_checker, reviewer)
    client = as_user(fact_checker)
    page = client.get(claim_url(claim))
    form_fields = page.context["adminform"].form.fields
    assert {"text", "claimant", "claim_date", "appearance_url", "tags"}.isdisjoint(form_fields)
    data = admin_form_data(page)
    data.update(text="Rewritten after publication", appearance_url="https://example.org/speech")

    assert client.post(claim_url(claim), data).status_code == 302

    claim.refresh_from_db()
    assert claim.text == "Iran says the drones were exported before the invasion"
    assert claim.appearance_url == ""


def test_a_claim_in_review_is_read_only_and_a_late_edit_is_refused(as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    client = as_user(fact_checker)
    data = admin_form_data(client.get(claim_url(claim)))
    claim_submit(actor=fact_checker, claim=claim)
    data["text"] = "Edited while a reviewer reads it"

    response = client.post(claim_url(claim), data, follow=True)

    assert "The claim is in review" in response.content.decode()
    claim.refresh_from_db()
    assert claim.text == "Iran says the drones were exported before the invasion"
    page = client.get(claim_url(claim))
    assert not page.context["has_change_permission"]
    assert 'name="_save"' not in page.content.decode()


def test_reviewer_sees_the_claim_read_only_and_cannot_post_changes(as_user, fact_checker, reviewer):
    claim = drafted_claim(fact_checker)
    client = as_user(reviewer)

    page = client.get(claim_url(claim))
    response = client.post(claim_url(claim), {"text": "A reviewer's rewrite"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert [formset.formset.prefix for formset in page.context["inline_admin_formsets"]] == [
        "evidence"
    ]
    assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.text == "Iran says the drones were exported before the invasion"


def test_history_can_be_read_but_never_reverted(as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    version = claim.history.latest()
    client = as_user(fact_checker)
    url = reverse("admin:claims_claim_simple_history", args=[claim.pk, version.history_id])

    assert client.get(url).status_code == 200
    assert client.post(url, {"text": "Reverted around the services"}).status_code == 403


def test_claims_cannot_be_deleted_from_the_admin(as_user, superuser, fact_checker):
    claim = drafted_claim(fact_checker)

    response = as_user(superuser).post(reverse("admin:claims_claim_delete", args=[claim.pk]))

    assert response.status_code == 403
    assert Claim.objects.filter(pk=claim.pk).exists()


def test_changelist_filters_by_source_flag(as_user, fact_checker):
    flagged = ClaimFactory(source_flag="Source https://example.org changed.")
    ClaimFactory()

    response = as_user(fact_checker).get(CHANGELIST, {"flagged": "yes"})

    assert list(response.context["cl"].result_list) == [flagged]


def test_changelist_shows_the_current_rating(as_user, fact_checker):
    claim = claim_create(actor=fact_checker, text="A claim", claimant_name="Iran")
    verdict_save_draft(actor=fact_checker, claim=claim, rating=rating("false"), summary="No.")

    page = as_user(fact_checker).get(CHANGELIST).content.decode()

    assert "False (draft)" in page


@pytest.mark.parametrize("claims", [5, 25])
def test_changelist_query_count_does_not_grow_with_claims(
    claims, as_user, fact_checker, django_assert_num_queries
):
    drones = Tag.objects.create(name="Drones", slug="drones")
    for number in range(claims):
        claim = claim_create(
            actor=fact_checker,
            text=f"Claim {number}",
            claimant_name=f"Claimant {number}",
            tags=[drones.name],
            assignee=fact_checker,
        )
        verdict_save_draft(actor=fact_checker, claim=claim, rating=rating(), summary="No.")
    client = as_user(fact_checker)

    # Session, user, its permissions (user, group); the rating, tag and assignee filter choices;
    # the count; the page of claims with claimant, assignee, current rating and quote flag; tags;
    # the unread notifications in the header.
    with django_assert_num_queries(11):
        response = client.get(CHANGELIST)

    assert len(response.context["cl"].result_list) == claims


def test_fact_checker_finds_and_adds_claimants_from_the_claim_form(as_user, fact_checker):
    ClaimantFactory(name="Iran")
    client = as_user(fact_checker)

    found = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "claims", "model_name": "claim", "field_name": "claimant", "term": "ira"},
    )
    added = client.post(
        reverse("admin:claims_claimant_add"),
        {"name": "John  Kirby", "url": "https://en.wikipedia.org/wiki/John_Kirby_(admiral)"},
    )

    assert [result["text"] for result in found.json()["results"]] == ["Iran"]
    assert added.status_code == 302
    assert Claimant.objects.filter(name="John Kirby").exists()


def test_claimant_names_are_unique_regardless_of_case(as_user, fact_checker):
    ClaimantFactory(name="Iran")

    response = as_user(fact_checker).post(
        reverse("admin:claims_claimant_add"), {"name": "  iran ", "url": ""}
    )

    assert response.status_code == 200
    assert "already a claimant named" in response.content.decode()


def test_verdict_of_a_published_claim_is_untouched_by_claim_edits(as_user, fact_checker, reviewer):
    claim = published_claim(fact_checker, reviewer)
    client = as_user(fact_checker)
    data = admin_form_data(client.get(claim_url(claim)))
    data["assignee"] = str(fact_checker.pk)

    assert client.post(claim_url(claim), data).status_code == 302

    claim.refresh_from_db()
    assert claim.assignee == fact_checker
    assert Verdict.objects.get(claim=claim).state == Verdict.State.APPROVED


def listed(client, **params) -> set:
    return set(client.get(CHANGELIST, params).context["cl"].result_list)


def test_changelist_filters_by_status_rating_and_quote_not_found(as_user, fact_checker, reviewer):
    published = published_claim(fact_checker, reviewer)
    draft = drafted_claim(fact_checker, text="A draft", url="https://news.example.org/draft")
    verdict_save_draft(actor=fact_checker, claim=draft, rating=rating("false"), summary="No.")
    unrated = claim_create(actor=fact_checker, text="Nothing drafted", claimant_name="Iran")
    Evidence.objects.filter(claim=draft).update(quote_status=Evidence.QuoteStatus.NOT_FOUND)
    client = as_user(fact_checker)

    assert listed(client, status="published") == {published}
    assert listed(client, rating="misleading") == {published}
    assert listed(client, rating="false") == {draft}
    assert listed(client, rating="none") == {unrated}
    assert listed(client, quote_not_found="yes") == {draft}
    assert listed(client, quote_not_found="no") == {published, unrated}


def test_changelist_filters_by_claimant_tag_and_assignee(
    as_user, fact_checker, other_fact_checker
):
    mine = claim_create(
        actor=fact_checker, text="Mine", claimant_name="Iran", tags=["Drones"], assignee=fact_checker
    )
    theirs = claim_create(
        actor=fact_checker, text="Theirs", claimant_name="John Kirby", assignee=other_fact_checker
    )
    nobodys = claim_create(actor=fact_checker, text="Nobody's", claimant_name="Iran")
    client = as_user(fact_checker)

    assert listed(client, claimant="  iran ") == {mine, nobodys}
    assert listed(client, tags__id__exact=Tag.objects.get().pk) == {mine}
    assert listed(client, assignee="me") == {mine}
    assert listed(client, assignee="none") == {nobodys}
    assert listed(client, assignee=other_fact_checker.pk) == {theirs}


def test_claimant_filter_is_a_text_box_that_keeps_the_other_filters(as_user, fact_checker):
    claim_create(actor=fact_checker, text="A claim", claimant_name="Iran")

    page = as_user(fact_checker).get(CHANGELIST, {"status": "draft", "q": "claim"}).content.decode()

    assert '<input type="search" name="claimant" value=""' in page
    assert '<input type="hidden" name="status" value="draft">' in page
    assert '<input type="hidden" name="q" value="claim">' in page


def test_changelist_searches_text_and_claimant(as_user, fact_checker):
    by_text = claim_create(actor=fact_checker, text="Drones over Kyiv", claimant_name="Ukraine")
    by_claimant = claim_create(actor=fact_checker, text="Exports were early", claimant_name="Iran")
    client = as_user(fact_checker)

    assert listed(client, q="kyiv") == {by_text}
    assert listed(client, q="iran") == {by_claimant}


def test_changelist_columns_show_tags_and_what_needs_attention(as_user, fact_checker):
    claim = drafted_claim(fact_checker)
    claim.tags.set(tags_get_or_create(names=["Drones", "Russia"]))
    Claim.objects.filter(pk=claim.pk).update(source_flag="Source https://x.example changed.")
    Evidence.objects.filter(claim=claim).update(quote_status=Evidence.QuoteStatus.NOT_FOUND)

    page = as_user(fact_checker).get(CHANGELIST).content.decode()

    assert "Drones, Russia" in page
    assert (
        '<span class="badge badge-bad" title="Source https://x.example changed.">source changed</span>'
        in page
    )
    assert (
        '<span class="badge badge-bad" title="A quote is not in its source&#x27;s latest text.">'
        "quote not found</span>" in page
    )
    assert '<a href="?claimant=Iran" title="Only claims by Iran">Iran</a>' in page


@pytest.mark.parametrize("claims", [5, 25])
def test_filtered_changelist_query_count_does_not_grow_with_claims(
    claims, as_user, fact_checker, django_assert_num_queries
):
    for number in range(claims):
        claim = claim_create(
            actor=fact_checker, text=f"Claim {number}", claimant_name="Iran", tags=["Drones"]
        )
        verdict_save_draft(actor=fact_checker, claim=claim, rating=rating(), summary="No.")
    client = as_user(fact_checker)
    params = {"rating": "false", "claimant": "Iran", "q": "claim", "quote_not_found": "no"}
    # As unfiltered (11), as the full count is never taken (show_full_result_count = False); on
    # PostgreSQL the full-text search first looks up the claimants the words match.
    expected = 12 if connection.vendor == "postgresql" else 11

    with django_assert_num_queries(expected):
        response = client.get(CHANGELIST, params)

    assert len(response.context["cl"].result_list) == claims


def test_each_evidence_row_has_a_re_fetch_button_for_fact_checkers(
    as_user, fact_checker, reviewer, queued, django_capture_on_commit_callbacks
):
    claim = drafted_claim(fact_checker)
    evidence = claim.evidence.get()
    refetch_url = reverse("admin:claims_claim_refetch", args=[claim.pk])
    queued.reset_mock()
    client = as_user(fact_checker)

    page = client.get(claim_url(claim))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            claim_url(claim), {**admin_form_data(page), "_refetch": str(evidence.pk)}, follow=True
        )

    # On the editable page the button saves the whole claim form first (the read-only page's
    # posts to refetch_url: test_re_fetch_from_a_read_only_claim_page_posts_to_its_own_view).
    assert f'name="_refetch" value="{evidence.pk}"' in page.content.decode()
    assert refetch_url not in page.content.decode()
    assert response.redirect_chain[-1][0] == claim_url(claim) + "#evidence-group"
    assert [str(m) for m in response.context["messages"]] == [
        "Queued a new fetch of https://news.example.org/iran-drones; its quotes are checked again"
        " when it lands."
    ]
    source = Source.objects.get()
    assert source.status == Source.Status.PENDING
    queued.assert_called_once_with(source_id=source.pk, token=source.fetch_token)


def test_re_fetch_from_a_read_only_claim_page_posts_to_its_own_view(as_user, fact_checker, queued):
    claim = drafted_claim(fact_checker)
    claim_submit(actor=fact_checker, claim=claim)
    evidence = claim.evidence.get()
    refetch_url = reverse("admin:claims_claim_refetch", args=[claim.pk])

    page = as_user(fact_checker).get(claim_url(claim)).content.decode()

    # In review nothing of the claim is saved: the button posts only which evidence to fetch.
    assert f'formaction="{refetch_url}"' in page
    assert f'name="evidence" value="{evidence.pk}"' in page
    assert 'name="_refetch"' not in page


def test_reviewers_get_no_re_fetch_button_and_cannot_post_one(as_user, fact_checker, reviewer, queued):
    claim = drafted_claim(fact_checker)
    refetch_url = reverse("admin:claims_claim_refetch", args=[claim.pk])
    queued.reset_mock()
    client = as_user(reviewer)

    page = client.get(claim_url(claim)).content.decode()
    response = client.post(refetch_url, {"evidence": claim.evidence.get().pk}, follow=True)

    assert refetch_url not in page
    assert [str(m) for m in response.context["messages"]] == ["Only fact-checkers can do this."]
    queued.assert_not_called()


def test_re_fetch_of_evidence_from_another_claim_is_refused(as_user, fact_checker, queued):
    claim = drafted_claim(fact_checker)
    other = drafted_claim(fact_checker, text="Other", url="https://news.example.org/other")

    response = as_user(fact_checker).post(
        reverse("admin:claims_claim_refetch", args=[claim.pk]),
        {"evidence": other.evidence.get().pk},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "That evidence is no longer on this claim."
    ]


def test_claim_page_shows_the_review_log_and_the_field_history(as_user, fact_checker, reviewer):
    claim = drafted_claim(fact_checker)
    claim_update(actor=fact_checker, claim=claim, appearance_url="https://example.org/speech")
    claim_submit(actor=fact_checker, claim=claim)
    claim_request_changes(actor=reviewer, claim=claim, comment="Cite the export dates.")

    response = as_user(fact_checker).get(claim_url(claim))

    actions = [entry.action for entry in response.context["review_log"]]
    assert actions == ["create", "draft", "submit", "request_changes"]
    page = response.content.decode()
    assert "Cite the export dates." in page
    changes = response.context["field_history"]
    verdict_states = [
        field
        for change in changes
        if change.subject == "verdict version 1"
        for field in change.fields
        if field[0] == "state"
    ]
    assert verdict_states == [("state", "In review", "Draft"), ("state", "Draft", "In review")]
    [claim_change] = [
        change for change in changes if ("appearance url", "—", "https://example.org/speech") in change.fields
    ]
    assert claim_change.who == fact_checker
    assert claim_change.subject == "claim"
    assert [change.kind for change in changes if change.subject.startswith("evidence #")] == ["created"]
    assert reverse("admin:claims_claim_history", args=[claim.pk]) in page


def test_submit_button_says_beforehand_what_is_missing(as_user, fact_checker):
    claim = claim_create(actor=fact_checker, text="A claim", claimant_name="Iran")
    verdict_save_draft(actor=fact_checker, claim=claim, rating=None, summary="")

    page = as_user(fact_checker).get(claim_url(claim)).content.decode()

    assert (
        "Not ready yet: Before submitting, the verdict needs a rating, a summary, at least one"
        " piece of evidence." in page
    )
