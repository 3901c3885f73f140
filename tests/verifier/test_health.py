"""GET /healthz: 200 when the database and the broker answer, 503 when either does not."""

import pytest
from django.db.utils import OperationalError

from config.celery import app as celery_app
from core.cache_outage import CacheOutages


@pytest.fixture(autouse=True)
def fresh_outage_count(monkeypatch):
    monkeypatch.setattr("verifier.health.cache_outages", CacheOutages())


@pytest.mark.django_db
def test_healthy_when_database_and_broker_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert (body["cache"], body["cache_failures"]) == ("ok", 0)
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_unavailable_when_the_broker_is_down(client, monkeypatch):
    # Nothing listens on port 1: the connection is refused at once.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "broker": "down",
        "broker_problem": "unreachable (OperationalError)",
        "cache": "ok",
        "cache_failures": 0,
    }


@pytest.mark.django_db
def test_unavailable_when_the_database_is_down(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", refuse)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("unavailable", "down", "ok")
    assert (body["cache"], body["cache_failures"]) == ("ok", 0)
