"""The Celery application; its settings are the CELERY_* names in config.settings."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# filesystem:// is the embedded broker with atomic writes (see config.filesystem_broker), not kombu's
# own transport of that name, in every process that loads the settings: web, worker, beat, tests.
TRANSPORT_ALIASES["filesystem"] = "config.filesystem_broker:Transport"
# redis:// is kombu's redis transport that keeps its broker address after a connection loss, so a
# worker losing Redis with an acks_late task in flight reconnects instead of exiting (see
# config.redis_broker).
TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = "config.redis_broker:Transport"

app = Celery("verifier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(**kwargs: Any) -> None:
    """Drops this thread's database connections that are broken or older than CONN_MAX_AGE."""
    from django.db import close_old_connections

    close_old_connections()
