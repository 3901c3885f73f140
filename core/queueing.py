"""Celery helpers every app's tasks share: queueing a task by its registered name, and the delay
before a retry."""

import logging
import random
from typing import Any

from celery import current_app

logger = logging.getLogger(__name__)


def task_queue(*, name: str, args: tuple[Any, ...], swept_by: str) -> bool:
    """Sends the task registered as `name`; with the broker down, logs and returns False, leaving
    the work to `swept_by`, the sweep that queues it again.

    By name, so a service queues its task without importing the tasks module that imports it.
    """
    try:
        current_app.send_task(name, args=args)
    except Exception as error:  # kombu raises a variety of transport errors
        logger.warning("Could not queue %s%r (%s); %s will retry it.", name, args, error, swept_by)
        return False
    return True


def retry_delay(retries: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never sooner than the server asked."""
    backoff = min(600.0, 10.0 * 2**retries)
    delay = random.uniform(backoff / 2, backoff)
    return max(delay, retry_after or 0.0)
