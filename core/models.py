"""Model behaviour more than one app needs; abstract, so core stays an app-less kernel."""

from typing import Any, ClassVar

from django.db import models


class ImmutableRowError(Exception):
    """A row written once was about to be changed or deleted."""


class AppendOnlyModel(models.Model):
    """A row written once and kept exactly as written: saving it again or deleting it raises."""

    immutable_error: ClassVar[type[ImmutableRowError]] = ImmutableRowError
    # The error's message: what to do instead.
    immutable_reason: ClassVar[str] = "This row is kept exactly as it was written."

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise self.immutable_error(self.immutable_reason)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise self.immutable_error(self.immutable_reason)
