"""Writes to claims and evidence; every entry point (admin, API, seed) goes through these."""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.text import slugify

from claims.models import Claim, Claimant, Evidence, Tag
from core.content_version import public_content_changed
from core.errors import DomainError
from core.roles import is_fact_checker, require_fact_checker
from sources.models import Source
from sources.services import evidence_check_against_latest, source_for_url, source_request_fetch
from verifier.models import ReviewLogEntry, Verdict
from verifier.services.review_log import review_log_append


def claimant_get_or_create(
    *, name: str, url: str = "", kind: str = Claimant.Kind.ORGANIZATION
) -> Claimant:
    """The claimant with this name (case-insensitive), created if new."""
    name = " ".join(name.split())
    if not name:
        raise DomainError.invalid("A claimant needs a name.", field="claimant")
    claimant = Claimant.objects.filter(name__iexact=name).first()
    if claimant is None:
        claimant, _ = Claimant.objects.get_or_create(name=name, defaults={"url": url, "kind": kind})
    return claimant


def tags_get_or_create(*, names: Iterable[str]) -> list[Tag]:
    """The tags with these names, created if new."""
    tags = []
    for raw in names:
        name = " ".join(raw.split())
        if not name:
            continue
        # A tag renamed in the admin keeps its slug, so its current name is looked up first.
        tag = Tag.objects.filter(name__iexact=name).first()
        if tag is None:
            slug = slugify(name)
            if not slug:
                raise DomainError.invalid(f"Tag {raw!r} has no usable characters.", field="tags")
            tag, _ = Tag.objects.get_or_create(slug=slug, defaults={"name": name})
        tags.append(tag)
    return tags


@transaction.atomic
def claim_create(
    *,
    actor: User,
    text: str,
    claimant_name: str,
    claim_date: datetime.date | None = None,
    appearance_url: str = "",
    tags: Iterable[str] = (),
    assignee: User | None = None,
) -> Claim:
    """A new draft claim, recorded in the review log."""
    require_fact_checker(actor)
    text = text.strip()
    if not text:
        raise DomainError.invalid("A claim needs its text.", field="text")
    claim = Claim.objects.create(
        text=text,
        claimant=claimant_get_or_create(name=claimant_name),
        claim_date=claim_date,
        appearance_url=appearance_url,
        assignee=assignee,
        created_by=actor,
    )
    claim.tags.set(tags_get_or_create(names=tags))
    review_log_append(
        claim=claim, verdict=None, actor=actor, action=ReviewLogEntry.Action.CREATE,
        from_state="", to_state=claim.status,
    )
    return claim


CLAIM_UPDATE_FIELDS = ("text", "claimant_name", "claim_date", "appearance_url", "tags", "assignee")
# What was claimed and by whom is what the published verdict rates; it never changes under it.
_PUBLIC_RECORD_FIELDS = ("text", "claimant_name")


def _claim_in_review(claim: Claim) -> bool:
    # A published claim's correction is in review while the claim itself stays published.
    return (
        claim.status == Claim.Status.IN_REVIEW
        or claim.verdicts.filter(state=Verdict.State.IN_REVIEW).exists()
    )


def claim_frozen_fields(claim: Claim) -> dict[str, str]:
    """The claim_update fields that cannot change now, each with the reason why."""
    if _claim_in_review(claim):
        reason = "The claim is in review; a reviewer must request changes before it can be edited."
        return dict.fromkeys(CLAIM_UPDATE_FIELDS, reason)
    if claim.published_at is not None:
        reason = (
            "The claim is published: its text and claimant are what the verdict rates and cannot"
            " change."
        )
        return dict.fromkeys(_PUBLIC_RECORD_FIELDS, reason)
    return {}


def _normalized_names(names: Iterable[str]) -> set[str]:
    return {" ".join(name.split()).casefold() for name in names if name.strip()}


def _claim_changed_fields(claim: Claim, changes: dict[str, Any]) -> set[str]:
    current: dict[str, Any] = {
        "claim_date": claim.claim_date,
        "appearance_url": claim.appearance_url,
        "assignee": claim.assignee,
    }
    changed = set()
    for field, value in changes.items():
        if field == "text":
            differs = value.strip() != claim.text
        elif field == "claimant_name":
            differs = _normalized_names([value]) != _normalized_names([claim.claimant.name])
        elif field == "tags":
            differs = _normalized_names(value) != _normalized_names(
                tag.name for tag in claim.tags.all()
            )
        else:
            differs = value != current[field]
        if differs:
            changed.add(field)
    return changed


@transaction.atomic
def claim_update(*, actor: User, claim: Claim, **changes: Any) -> Claim:
    """Changes the claim's own fields (CLAIM_UPDATE_FIELDS) unless claim_frozen_fields refuses them."""
    require_fact_checker(actor)
    unknown = set(changes) - set(CLAIM_UPDATE_FIELDS)
    if unknown:
        raise DomainError.invalid(f"Unknown claim fields: {', '.join(sorted(unknown))}.")
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    changed = _claim_changed_fields(claim, changes)
    if not changed:
        return claim
    frozen = claim_frozen_fields(claim)
    for field in sorted(changed):
        if field in frozen:
            raise DomainError.conflict(frozen[field])
    if "text" in changed:
        claim.text = changes["text"].strip()
        if not claim.text:
            raise DomainError.invalid("A claim needs its text.", field="text")
    if "claimant_name" in changed:
        claim.claimant = claimant_get_or_create(name=changes["claimant_name"])
    for field in ("claim_date", "appearance_url", "assignee"):
        if field in changed:
            setattr(claim, field, changes[field])
    # Saved even when only the tags changed: API clients pull changes by updated_at.
    claim._history_user = actor  # type: ignore[attr-defined]
    claim.save()
    if "tags" in changed:
        claim.tags.set(tags_get_or_create(names=changes["tags"]))
    if claim.status == Claim.Status.PUBLISHED:
        public_content_changed()
    return claim


def evidence_change_refusal(claim: Claim) -> str | None:
    """Why the claim's evidence cannot be added to now, or None if it can."""
    open_verdict = claim.verdicts.exclude(state=Verdict.State.APPROVED).first()
    if open_verdict is not None and open_verdict.state == Verdict.State.IN_REVIEW:
        return "The claim is in review; a reviewer must request changes before evidence changes."
    if claim.status == Claim.Status.PUBLISHED and open_verdict is None:
        return "The claim is published; draft a corrected verdict before changing its evidence."
    return None


def evidence_remove_refusal(claim: Claim) -> str | None:
    """Why evidence cannot be removed from the claim now, or None if it can."""
    refusal = evidence_change_refusal(claim)
    if refusal is None and claim.published_at is not None:
        # The published verdict's fingerprint points at this row; it stays as part of the record.
        refusal = "Evidence of a published claim cannot be removed."
    return refusal


def _require_evidence_editable(claim: Claim) -> None:
    refusal = evidence_change_refusal(claim)
    if refusal is not None:
        raise DomainError.conflict(refusal)


@transaction.atomic
def evidence_add(
    *,
    actor: User,
    claim: Claim,
    url: str,
    quote: str,
    stance: str,
    note: str = "",
) -> Evidence:
    """Evidence citing `url`; its source is created or reused and fetched after commit."""
    require_fact_checker(actor)
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    _require_evidence_editable(claim)
    if stance not in Evidence.Stance.values:
        raise DomainError.invalid(
            f"Stance must be one of {', '.join(Evidence.Stance.values)}.", field="stance"
        )
    quote = quote.strip()
    if not quote:
        raise DomainError.invalid("Evidence needs the exact quote from the source.", field="quote")
    source = source_for_url(url)
    evidence = Evidence.objects.create(
        claim=claim, source=source, quote=quote, stance=stance, note=note, author=actor
    )
    if source.status in (Source.Status.PENDING, Source.Status.FETCHING):
        if source.fetch_token is None:
            source_request_fetch(source=source)
    elif not evidence_check_against_latest(evidence=evidence):
        source_request_fetch(source=source)
    return evidence


@transaction.atomic
def evidence_remove(*, actor: User, evidence: Evidence) -> None:
    """Removes evidence from a claim that has never been published."""
    require_fact_checker(actor)
    claim = Claim.objects.select_for_update().get(pk=evidence.claim_id)
    refusal = evidence_remove_refusal(claim)
    if refusal is not None:
        raise DomainError.conflict(refusal)
    evidence.delete()


@dataclass
class BulkResult:
    """What a change to many claims did: which changed, which already were as asked, and which
    were refused, each with the service's reason."""

    changed: list[Claim] = dataclass_field(default_factory=list)
    unchanged: list[Claim] = dataclass_field(default_factory=list)
    refused: list[tuple[Claim, str]] = dataclass_field(default_factory=list)


def _claims_bulk_update(
    actor: User, claims: Iterable[Claim], changes_for: Callable[[Claim], dict[str, Any] | None]
) -> BulkResult:
    # One claim_update (its own transaction) per claim: a claim in review is refused on its own
    # while the others change, and each change keeps its field history.
    result = BulkResult()
    # Read afresh: what the caller holds may predate another change.
    fresh = Claim.objects.filter(pk__in=[claim.pk for claim in claims]).prefetch_related("tags")
    for claim in fresh.order_by("pk"):
        changes = changes_for(claim)
        if changes is None:
            result.unchanged.append(claim)
            continue
        try:
            result.changed.append(claim_update(actor=actor, claim=claim, **changes))
        except DomainError as refused:
            result.refused.append((claim, refused.message))
    return result


def claims_assign(*, actor: User, claims: Iterable[Claim], assignee: User | None) -> BulkResult:
    """Assigns each claim to `assignee` (None unassigns) as claim_update would, claim by claim."""
    require_fact_checker(actor)
    if assignee is not None and not (assignee.is_active and is_fact_checker(assignee)):
        raise DomainError.invalid(
            f"{assignee} is not an active fact-checker and cannot be assigned claims.",
            field="assignee",
        )
    assignee_id = assignee.pk if assignee is not None else None

    def changes_for(claim: Claim) -> dict[str, Any] | None:
        return None if claim.assignee_id == assignee_id else {"assignee": assignee}

    return _claims_bulk_update(actor, claims, changes_for)


def claims_tag(*, actor: User, claims: Iterable[Claim], tag_names: Iterable[str]) -> BulkResult:
    """Adds the tags (created if new) to each claim as claim_update would, claim by claim."""
    require_fact_checker(actor)
    tags = tags_get_or_create(names=tag_names)
    if not tags:
        raise DomainError.invalid("Name at least one tag to add.", field="tags")

    def changes_for(claim: Claim) -> dict[str, Any] | None:
        current = list(claim.tags.all())
        if {tag.pk for tag in tags} <= {tag.pk for tag in current}:
            return None
        return {"tags": [tag.name for tag in current] + [tag.name for tag in tags]}

    return _claims_bulk_update(actor, claims, changes_for)


def _sources_refetch(sources: Iterable[Source]) -> int:
    count = 0
    for source in sources:
        # One transaction per source: each fetch is queued as soon as its own row commits.
        with transaction.atomic():
            source_request_fetch(source=source)
        count += 1
    return count


def claims_refetch_sources(*, actor: User, claims: Iterable[Claim]) -> int:
    """Queues a fresh fetch of every source the claims cite; returns how many sources."""
    require_fact_checker(actor)
    claim_ids = [claim.pk for claim in claims]
    sources = Source.objects.filter(evidence__claim__in=claim_ids).distinct().only("pk")
    return _sources_refetch(sources.order_by("pk"))


def evidence_refetch_source(*, actor: User, evidence: Evidence) -> Source:
    """Queues a fresh fetch of the source the evidence cites; its quote is checked again after."""
    require_fact_checker(actor)
    _sources_refetch([evidence.source])
    return evidence.source


@dataclass(frozen=True)
class NewClaim:
    """The fields of a claim to create, as an import reads them."""

    text: str
    claimant_name: str
    claim_date: datetime.date | None = None
    appearance_url: str = ""
    tags: tuple[str, ...] = ()


@transaction.atomic
def claims_import(*, actor: User, claims: Iterable[NewClaim]) -> list[Claim]:
    """Creates a draft claim for each row with claim_create: all of them, or none if one fails."""
    require_fact_checker(actor)
    return [
        claim_create(
            actor=actor,
            text=new.text,
            claimant_name=new.claimant_name,
            claim_date=new.claim_date,
            appearance_url=new.appearance_url,
            tags=new.tags,
        )
        for new in claims
    ]
