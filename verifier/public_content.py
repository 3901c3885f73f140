"""What moves the public content version besides the services' own calls: changes the workflow
does not drive but the public record shows. Connected once the apps are ready (VerifierConfig)."""

from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save

from claims.models import Claim, Claimant, Evidence, Tag
from core.compiled_rows import CompiledRows, OneOfIds
from core.content_version import public_content_changed
from sources.signals import source_fetch_state_changed
from verifier.models import Rating


def public_content_watch() -> None:
    """Connects the two hooks below."""
    for model in (Rating, Claimant, Tag):
        uid = f"public-content-{model.__name__}"
        post_save.connect(_reference_data_changed, sender=model, dispatch_uid=uid)
        post_delete.connect(_reference_data_changed, sender=model, dispatch_uid=uid)
    source_fetch_state_changed.connect(_source_fetch_state_changed, dispatch_uid="public-content-source")


def _reference_data_changed(sender: type, created: bool = False, **kwargs: Any) -> None:
    # Ratings, claimants and tags are edited in the admin without a service, and published claims
    # show them. A new claimant or tag is shown only once a claim that has it is published, which
    # moves the version anyway; a new rating can change the bounds of the scale every rated claim
    # shows.
    if created and sender is not Rating:
        return
    public_content_changed()


def _source_fetch_state_changed(
    sender: type, source_id: int, never_fetched: bool | None = None, **kwargs: Any
) -> None:
    # A published claim whose source was never fetched shows it pending, then fetching: if one
    # cites this source, the cached public responses are superseded. A re-check of a fetched source
    # is not shown while it runs (the public record keeps the settled status), and what its snapshot
    # changes moves the version in verifier.services.sources.
    if never_fetched is False:
        return
    # This runs for every fetch queued and started: the query is compiled once per process, which
    # costs the worker more than running it.
    citing = _PUBLISHED_CITING_UNFETCHED if never_fetched is None else _PUBLISHED_CITING
    if citing.rows([source_id]):
        public_content_changed()


def _published_citing(source_ids: object, *, only_unfetched: bool) -> QuerySet[Any]:
    """A published claim's evidence citing one of the sources; with only_unfetched (one query for
    both questions), only if that source was never fetched."""
    citing = Q(OneOfIds("source_id", source_ids), claim__status=Claim.Status.PUBLISHED)
    if only_unfetched:
        citing &= Q(source__last_fetched_at__isnull=True)
    return Evidence.objects.filter(citing).order_by().values("pk")[:1]


_PUBLISHED_CITING = CompiledRows(lambda ids: _published_citing(ids, only_unfetched=False))
_PUBLISHED_CITING_UNFETCHED = CompiledRows(lambda ids: _published_citing(ids, only_unfetched=True))
