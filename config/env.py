"""Small, strict readers of environment variables: a bad value stops start-up with a clear message."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}") from None
    if value <= minimum:
        raise ImproperlyConfigured(f"{name} must be greater than {minimum}; got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int_set(name: str, default: set[int]) -> frozenset[int]:
    items = env_list(name, [str(item) for item in sorted(default)])
    try:
        return frozenset(int(item) for item in items)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a comma-separated list of port numbers; got {os.environ[name]!r}"
        ) from None


_RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NO_LIMIT = {"", "none", "off", "unlimited"}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """A request rate such as "120/minute" as (120 requests, 60 seconds); None for "none"."""
    if rate is None or rate.strip().lower() in _NO_LIMIT:
        return None
    count, _, period = rate.strip().partition("/")
    seconds = _RATE_PERIODS.get(period.strip()[:1].lower())
    if not count.strip().isdigit() or seconds is None:
        raise ImproperlyConfigured(
            "A rate is a number of requests per second, minute, hour or day, such as '120/minute', "
            f"or 'none'; got {rate!r}"
        )
    return int(count), seconds


def env_rate(name: str, default: str) -> str:
    raw = os.environ.get(name, default)
    try:
        parse_rate(raw)
    except ImproperlyConfigured as error:
        raise ImproperlyConfigured(f"{name}: {error}") from None
    return raw
