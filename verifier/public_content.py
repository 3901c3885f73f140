"""What moves the public content version besides the services' own calls: reference data that the
admin edits without a service (ratings, claimants, tags)."""

from typing import Any

from django.db.models.signals import post_delete, post_save

from claims.models import Claimant, Tag
from core.content_version import public_content_changed
from verifier.models import Rating


def watch_reference_data() -> None:
    """Ratings, claimants and tags are edited in the admin without a service, and published claims
    show them: saving or deleting one supersedes the cached public responses. A new claimant or tag
    is shown only once a claim that has it is published, which moves the version anyway; a new
    rating can change the bounds of the scale every rated claim shows."""
    for model in (Rating, Claimant, Tag):
        uid = f"public-content-{model.__name__}"
        post_save.connect(_reference_data_changed, sender=model, dispatch_uid=uid)
        post_delete.connect(_reference_data_changed, sender=model, dispatch_uid=uid)


def _reference_data_changed(sender: type, created: bool = False, **kwargs: Any) -> None:
    if created and sender is not Rating:
        return
    public_content_changed()
