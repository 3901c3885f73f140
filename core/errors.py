"""The one error type the services raise; entry points turn its kind into 400/403/404/409."""

from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"


class DomainError(Exception):
    def __init__(
        self, message: str, *, kind: ErrorKind = ErrorKind.INVALID, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.field = field

    @classmethod
    def forbidden(cls, message: str) -> "DomainError":
        return cls(message, kind=ErrorKind.FORBIDDEN)

    @classmethod
    def conflict(cls, message: str) -> "DomainError":
        return cls(message, kind=ErrorKind.CONFLICT)

    @classmethod
    def not_found(cls, message: str) -> "DomainError":
        return cls(message, kind=ErrorKind.NOT_FOUND)

    @classmethod
    def invalid(cls, message: str, *, field: str | None = None) -> "DomainError":
        return cls(message, kind=ErrorKind.INVALID, field=field)
