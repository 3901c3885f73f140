"""claim_update and the edit rules every entry point shows and the services enforce."""

from unittest import mock

import pytest

from claims.models import Claim, Tag
from claims.services import (
    claim_create,
    claim_frozen_fields,
    claim_update,
    evidence_change_refusal,
    evidence_remove_refusal,
    tags_get_or_create,
)
from tests.admin_helpers import drafted_claim
from verifier.errors import DomainError, ErrorKind
from verifier.services import claim_request_changes, claim_submit, verdict_approve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("sources.services.enqueue_fetch"):
        yield


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


def test_a_published_claims_text_and_claimant_are_frozen_but_not_the_rest(fact_checker, reviewer):
    claim = drafted_claim(fact_checker)
    claim_submit(actor=fact_checker, claim=claim)
    verdict_approve(actor=reviewer, claim=claim)

    for change in ({"text": "Rewritten"}, {"claimant_name": "Russia"}):
        with pytest.raises(DomainError) as refused:
            claim_update(actor=fact_checker, claim=claim, **change)
        assert refused.value.kind == ErrorKind.CONFLICT
    claim_update(
        actor=fact_checker,
        claim=claim,
        text=claim.text,
        claimant_name="iran",  # the same claimant, however it is typed
        appearance_url="https://example.org/speech",
    )

    claim.refresh_from_db()
    assert claim.appearance_url == "https://example.org/speech"
    assert set(claim_frozen_fields(claim)) == {"text", "claimant_name"}


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
