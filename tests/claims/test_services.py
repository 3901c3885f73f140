"""claim_update and the edit rules every entry point shows and the services enforce."""


import datetime

import pytest

from claims.models import Claim, Tag
from claims.services import claims_refetch_sources, evidence_refetch_source, tags_get_or_create
from core.errors import DomainError, ErrorKind
from sources.models import Source
from tests.admin_helpers import drafted_claim
from verifier.models import ReviewLogEntry
from verifier.services.claims import (
    NewClaim,
    claim_create,
    claim_frozen_fields,
    claim_update,
    claims_assign,
    claims_import,
    claims_tag,
)
from verifier.services.evidence import evidence_add, evidence_change_refusal, evidence_remove_refusal
from verifier.services.verdicts import claim_request_changes, claim_submit, verdict_approve

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]


def test_fact_checker_updates_a_draft_claim(fact_checker, other_fact_checker):
    claim = claim_create(actor=fact_checker, text="Iran exported drones", claimant_name="Iran")

    claim_update(
        actor=fact_checker,
        claim=claim,
        text=" Iran exported drones before the invasion ",
        claimant_name="Islamic Republic of Iran",
        tags=["Drones", "Ukraine war"],
        assignee=other_fact_checker,
    )

    claim.refresh_from_db()
    assert claim.text == "Iran exported drones before the invasion"
    assert claim.claimant.name == "Islamic Republic of Iran"
    assert sorted(claim.tags.values_list("slug", flat=True)) == ["drones", "ukraine-war"]
    assert claim.assignee == other_fact_checker
    assert claim.history.latest().history_user == fact_checker


def test_reviewer_cannot_update_a_claim(fact_checker, reviewer):
    claim = claim_create(actor=fact_checker, text="Iran exported drones", claimant_name="Iran")

    with pytest.raises(DomainError) as refused:
        claim_update(actor=reviewer, claim=claim, text="Rewritten")

    assert refused.value.kind == ErrorKind.FORBIDDEN


def test_unknown_fields_are_refused(fact_checker):
    claim = claim_create(actor=fact_checker, text="Iran exported drones", claimant_name="Iran")

    with pytest.raises(DomainError) as refused:
        claim_update(actor=fact_checker, claim=claim, status=Claim.Status.PUBLISHED)

    assert refused.value.kind == ErrorKind.INVALID
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT


def test_a_claim_in_review_cannot_be_updated(fact_checker):
    claim = drafted_claim(fact_checker)
    claim_submit(actor=fact_checker, claim=claim)

    with pytest.raises(DomainError) as refused:
        claim_update(actor=fact_checker, claim=claim, claim_date=None, appearance_url="https://x.org/")

    assert refused.value.kind == ErrorKind.CONFLICT
    assert "in review" in refused.value.message


def test_a_published_claims_public_record_is_frozen_but_not_its_assignee(
    fact_checker, other_fact_checker, reviewer
):
    claim = drafted_claim(fact_checker)
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)

    for change in (
        {"text": "Rewritten"},
        {"claimant_name": "Russia"},
        {"claim_date": datetime.date(2022, 10, 20)},
        {"appearance_url": "https://example.org/speech"},
        {"tags": ["forged"]},
    ):
        with pytest.raises(DomainError) as refused:
            claim_update(actor=fact_checker, claim=claim, **change)
        assert refused.value.kind == ErrorKind.CONFLICT
    claim_update(
        actor=fact_checker,
        claim=claim,
        text=claim.text,
        claimant_name="iran",  # the same claimant, however it is typed
        assignee=other_fact_checker,
    )

    claim.refresh_from_db()
    assert (claim.appearance_url, claim.assignee) == ("", other_fact_checker)
    assert set(claim_frozen_fields(claim)) == {
        "text", "claimant_name", "claim_date", "appearance_url", "tags",
    }


def test_an_unchanged_update_writes_nothing(fact_checker):
    claim = claim_create(
        actor=fact_checker, text="Iran exported drones", claimant_name="Iran", tags=["Drones"]
    )
    versions = claim.history.count()

    claim_update(actor=fact_checker, claim=claim, text="Iran exported drones", tags=["drones"])

    assert claim.history.count() == versions


def test_evidence_rules_follow_the_workflow(fact_checker, reviewer):
    claim = drafted_claim(fact_checker)
    assert evidence_change_refusal(claim) is None
    assert evidence_remove_refusal(claim) is None

    claim_submit(actor=fact_checker, claim=claim)
    assert "in review" in evidence_change_refusal(claim)
    assert "in review" in evidence_remove_refusal(claim)

    claim_request_changes(actor=reviewer, claim=claim, comment="More sources.")
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=Claim.objects.get(pk=claim.pk))
    claim.refresh_from_db()
    assert "draft a corrected verdict" in evidence_change_refusal(claim)
    assert "draft a corrected verdict" in evidence_remove_refusal(claim)


def test_a_renamed_tag_is_found_by_its_current_name():
    Tag.objects.create(name="Unmanned aircraft", slug="drones")

    (tag,) = tags_get_or_create(names=["unmanned aircraft"])

    assert tag.slug == "drones"
    assert Tag.objects.count() == 1


def test_claims_assign_assigns_each_claim_and_keeps_its_history(
    fact_checker, other_fact_checker
):
    claims = [
        claim_create(actor=fact_checker, text=f"Claim {n}", claimant_name="Iran") for n in range(3)
    ]
    claim_update(actor=fact_checker, claim=claims[0], assignee=other_fact_checker)

    result = claims_assign(actor=fact_checker, claims=claims, assignee=other_fact_checker)

    assert [claim.pk for claim in result.changed] == [claims[1].pk, claims[2].pk]
    assert [claim.pk for claim in result.unchanged] == [claims[0].pk]
    assert result.refused == []
    for claim in claims:
        claim.refresh_from_db()
        assert claim.assignee == other_fact_checker
        assert claim.history.latest().history_user == fact_checker


def test_claims_assign_leaves_a_claim_in_review_with_the_reason(fact_checker, other_fact_checker):
    in_review = drafted_claim(fact_checker)
    claim_submit(actor=fact_checker, claim=in_review)
    draft = claim_create(actor=fact_checker, text="A draft", claimant_name="Iran")

    result = claims_assign(actor=fact_checker, claims=[in_review, draft], assignee=other_fact_checker)

    assert [claim.pk for claim in result.changed] == [draft.pk]
    [(refused, reason)] = result.refused
    assert refused.pk == in_review.pk
    assert "in review" in reason
    in_review.refresh_from_db()
    assert in_review.assignee is None


def test_claims_assign_unassigns_with_none(fact_checker):
    claim = claim_create(actor=fact_checker, text="A", claimant_name="Iran", assignee=fact_checker)

    claims_assign(actor=fact_checker, claims=[claim], assignee=None)

    claim.refresh_from_db()
    assert claim.assignee is None


def test_claims_can_only_be_assigned_to_active_fact_checkers(fact_checker, reviewer):
    claim = claim_create(actor=fact_checker, text="A", claimant_name="Iran")

    with pytest.raises(DomainError) as refused:
        claims_assign(actor=fact_checker, claims=[claim], assignee=reviewer)

    assert refused.value.kind == ErrorKind.INVALID
    assert refused.value.field == "assignee"


def test_reviewers_cannot_assign_or_tag(fact_checker, reviewer, other_fact_checker):
    claim = claim_create(actor=fact_checker, text="A", claimant_name="Iran")

    for bulk_change in (
        lambda: claims_assign(actor=reviewer, claims=[claim], assignee=other_fact_checker),
        lambda: claims_tag(actor=reviewer, claims=[claim], tag_names=["Drones"]),
        lambda: claims_refetch_sources(actor=reviewer, claims=[claim]),
    ):
        with pytest.raises(DomainError) as refused:
            bulk_change()
        assert refused.value.kind == ErrorKind.FORBIDDEN


def test_claims_tag_adds_tags_and_keeps_the_existing_ones(fact_checker):
    tagged = claim_create(actor=fact_checker, text="A", claimant_name="Iran", tags=["Drones"])
    untagged = claim_create(actor=fact_checker, text="B", claimant_name="Iran")

    result = claims_tag(actor=fact_checker, claims=[tagged, untagged], tag_names=["Ukraine war", "drones"])

    assert len(result.changed) == 2
    assert sorted(tagged.tags.values_list("name", flat=True)) == ["Drones", "Ukraine war"]
    assert sorted(untagged.tags.values_list("name", flat=True)) == ["Drones", "Ukraine war"]
    again = claims_tag(actor=fact_checker, claims=[tagged], tag_names=["Ukraine war"])
    assert [claim.pk for claim in again.unchanged] == [tagged.pk]


def test_claims_tag_needs_a_tag(fact_checker):
    claim = claim_create(actor=fact_checker, text="A", claimant_name="Iran")

    with pytest.raises(DomainError) as refused:
        claims_tag(actor=fact_checker, claims=[claim], tag_names=["  ", ""])

    assert refused.value.field == "tags"


def test_claims_refetch_sources_queues_each_cited_source_once(
    fact_checker, queued, django_capture_on_commit_callbacks
):
    first = drafted_claim(fact_checker, url="https://news.example.org/a")
    second = drafted_claim(fact_checker, text="Second", url="https://news.example.org/a")
    evidence_add(
        actor=fact_checker, claim=second, url="https://news.example.org/b", quote="q", stance="context"
    )
    queued.reset_mock()

    with django_capture_on_commit_callbacks(execute=True):
        count = claims_refetch_sources(actor=fact_checker, claims=[first, second])

    assert count == 2
    assert sorted(call.kwargs["source_id"] for call in queued.call_args_list) == sorted(
        Source.objects.values_list("pk", flat=True)
    )
    assert set(Source.objects.values_list("status", flat=True)) == {Source.Status.PENDING}


def test_evidence_refetch_source_queues_its_source(
    fact_checker, reviewer, queued, django_capture_on_commit_callbacks
):
    evidence = drafted_claim(fact_checker).evidence.get()
    queued.reset_mock()

    with django_capture_on_commit_callbacks(execute=True):
        source = evidence_refetch_source(actor=fact_checker, evidence=evidence)
    with pytest.raises(DomainError):
        evidence_refetch_source(actor=reviewer, evidence=evidence)

    source.refresh_from_db()
    queued.assert_called_once_with(source_id=source.pk, token=source.fetch_token)


def test_claims_import_creates_draft_claims_through_claim_create(fact_checker):
    created = claims_import(
        actor=fact_checker,
        claims=[
            NewClaim(text="Iran exported drones", claimant_name="Iran", tags=("Drones",)),
            NewClaim(text="Russia bought drones", claimant_name="John Kirby"),
        ],
    )

    assert [claim.status for claim in created] == [Claim.Status.DRAFT, Claim.Status.DRAFT]
    assert list(created[0].tags.values_list("name", flat=True)) == ["Drones"]
    logged = ReviewLogEntry.objects.filter(action=ReviewLogEntry.Action.CREATE)
    assert sorted(entry.claim_id for entry in logged) == sorted(claim.pk for claim in created)


def test_claims_import_is_all_or_nothing(fact_checker):
    with pytest.raises(DomainError):
        claims_import(
            actor=fact_checker,
            claims=[
                NewClaim(text="Iran exported drones", claimant_name="Iran"),
                NewClaim(text="   ", claimant_name="Iran"),
            ],
        )

    assert not Claim.objects.exists()


def test_reviewers_cannot_import_claims(reviewer):
    with pytest.raises(DomainError) as refused:
        claims_import(actor=reviewer, claims=[NewClaim(text="A", claimant_name="Iran")])

    assert refused.value.kind == ErrorKind.FORBIDDEN
