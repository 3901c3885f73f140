"""Creating and changing claims under the workflow's rules: what may change while a verdict is in
review or published, changes to many claims at once, and the CSV import."""

import datetime
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from claims.models import Claim, Claimant, Tag
from claims.services import claimant_get_or_create, tags_get_or_create
from core.content_version import public_content_changed
from core.errors import DomainError
from core.roles import is_fact_checker, require_fact_checker
from core.text_bounds import CLAIM_TEXT_MAX, require_text_within
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
    require_text_within(text, limit=CLAIM_TEXT_MAX, field="text")
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
# What was claimed, by whom, when, where and under which tags is the public record the published
# verdict rates (SPEC §10); it never changes under it. The assignee is internal.
_PUBLIC_RECORD_FIELDS = ("text", "claimant_name", "claim_date", "appearance_url", "tags")


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
            "The claim is published: its text, claimant, date, appearance URL and tags are the"
            " public record the verdict rates and cannot change."
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
        require_text_within(claim.text, limit=CLAIM_TEXT_MAX, field="text")
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


# The records around a claim that its published page and ClaimReview show.
_PublicRecord = TypeVar("_PublicRecord", Claimant, Tag)


def _published_claim_using(claims: QuerySet[Claim]) -> Claim | None:
    return claims.filter(published_at__isnull=False).order_by("pk").first()


def claimant_change_refusal(claimant: Claimant) -> str | None:
    """Why the claimant's name and URL cannot change now, or None: a published claim shows them as
    its claimant (page and ClaimReview), so they change only while drafts alone use the claimant."""
    published = _published_claim_using(claimant.claims.all())
    if published is None:
        return None
    return (
        f"Published claim #{published.pk} names {claimant.name} as its claimant: the claimant's"
        " name and URL are part of its public record and cannot change."
    )


def tag_change_refusal(tag: Tag) -> str | None:
    """Why the tag's name and slug cannot change now, or None: a published claim shows the tag."""
    published = _published_claim_using(tag.claims.all())
    if published is None:
        return None
    return (
        f"Published claim #{published.pk} is tagged {tag.name}: the tag's name and slug are part"
        " of its public record and cannot change."
    )


def _public_record_update(
    record: _PublicRecord, *, changes: dict[str, str], refusal_of: Callable[[_PublicRecord], str | None]
) -> _PublicRecord:
    record = type(record)._default_manager.select_for_update().get(pk=record.pk)
    if all(getattr(record, field) == value for field, value in changes.items()):
        return record
    refusal = refusal_of(record)
    if refusal is not None:
        raise DomainError.conflict(refusal)
    for field, value in changes.items():
        setattr(record, field, value)
    record.save(update_fields=list(changes))
    return record


@transaction.atomic
def claimant_update(*, claimant: Claimant, name: str, url: str) -> Claimant:
    """Renames the claimant or changes its URL unless claimant_change_refusal refuses it."""
    return _public_record_update(
        claimant,
        changes={"name": " ".join(name.split()), "url": url},
        refusal_of=claimant_change_refusal,
    )


@transaction.atomic
def tag_update(*, tag: Tag, name: str, slug: str) -> Tag:
    """Renames the tag or changes its slug unless tag_change_refusal refuses it."""
    return _public_record_update(
        tag, changes={"name": name, "slug": slug}, refusal_of=tag_change_refusal
    )


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
