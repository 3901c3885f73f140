"""Creating and changing claims under the workflow's rules: what may change while a verdict is in
review or published, changes to many claims at once, and the CSV import."""

import datetime
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from claims.models import Claim
from claims.services import claimant_get_or_create, tags_get_or_create
from core.content_version import public_content_changed
from core.errors import DomainError
from core.roles import is_fact_checker, require_fact_checker
from verifier.models import ReviewLogEntry, Verdict
from verifier.services.review_log import review_log_append


@dataclass(frozen=True)
class NewClaim:
    """The fields of a claim to create, as an import reads them."""

    text: str
    claimant_name: str
    claim_date: datetime.date | None = None
    appearance_url: str = ""
    tags: tuple[str, ...] = ()


def claim_date_in_future(claim_date: datetime.date | None) -> bool:
    """Whether the claim is dated after today; a claim is recorded once it has been made."""
    return claim_date is not None and claim_date > timezone.localdate()


def url_has_credentials(url: str) -> bool:
    """Whether the URL carries a user name or password (user:pass@host); published, they would leak
    someone's login to every reader of the record."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        return False
    return "@" in parts.netloc


def _require_appearance_url(appearance_url: str) -> None:
    if url_has_credentials(appearance_url):
        raise DomainError.invalid(
            "The appearance URL carries a user name or password (user:pass@); give it without them.",
            field="appearance_url",
        )


def claim_duplicate_key(claim: NewClaim) -> tuple[str, str]:
    """What makes two claims one: the same text by the same claimant, whitespace and case aside."""
    return (" ".join(claim.text.split()).casefold(), " ".join(claim.claimant_name.split()).casefold())


def claims_recorded(
    *, candidates: Iterable[NewClaim], excluding: int | None = None
) -> dict[tuple[str, str], int]:
    """The id of the claim already recorded for each candidate that has one, by claim_duplicate_key;
    `excluding` leaves a claim itself out when it is being changed."""
    wanted = {claim_duplicate_key(claim) for claim in candidates}
    recorded = Claim.objects.filter(text__in={claim.text.strip() for claim in candidates})
    if excluding is not None:
        recorded = recorded.exclude(pk=excluding)
    found: dict[tuple[str, str], int] = {}
    for pk, text, claimant_name in recorded.values_list("pk", "text", "claimant__name"):
        key = claim_duplicate_key(NewClaim(text=text, claimant_name=claimant_name))
        if key in wanted:
            found.setdefault(key, pk)
    return found


def _require_new_claim(claim: NewClaim, *, excluding: int | None = None) -> None:
    if claim_date_in_future(claim.claim_date):
        raise DomainError.invalid(
            f"The claim date {claim.claim_date} is in the future.", field="claim_date"
        )
    recorded = claims_recorded(candidates=[claim], excluding=excluding)
    if recorded:
        (pk,) = recorded.values()
        raise DomainError.invalid(
            f"{claim.claimant_name} making this claim is already recorded as claim #{pk}.",
            field="text",
        )


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
    """A new draft claim, recorded in the review log; never one dated in the future or one already
    recorded (claims_recorded)."""
    require_fact_checker(actor)
    text = text.strip()
    if not text:
        raise DomainError.invalid("A claim needs its text.", field="text")
    _require_appearance_url(appearance_url)
    _require_new_claim(NewClaim(text=text, claimant_name=claimant_name, claim_date=claim_date))
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
    if "appearance_url" in changed:
        _require_appearance_url(changes["appearance_url"])
    for field in ("claim_date", "appearance_url", "assignee"):
        if field in changed:
            setattr(claim, field, changes[field])
    if changed & {"text", "claimant_name", "claim_date"}:
        _require_new_claim(
            NewClaim(text=claim.text, claimant_name=claim.claimant.name, claim_date=claim.claim_date),
            excluding=claim.pk,
        )
    # Saved even when only the tags changed: API clients pull changes by updated_at.
    claim._history_user = actor  # type: ignore[attr-defined]
    claim.save()
    if "tags" in changed:
        claim.tags.set(tags_get_or_create(names=changes["tags"]))
    if claim.status == Claim.Status.PUBLISHED:
        public_content_changed()
    return claim


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
