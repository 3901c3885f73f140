"""Shared fixtures. Django imports stay inside them so the plain-library tests (the fetcher,
quotes) also run without Django: `pytest tests/sources/fetcher -p no:django`."""

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(request):
    # The default hasher is slow on purpose; tests create many users.
    if request.config.pluginmanager.hasplugin("django"):
        settings = request.getfixturevalue("settings")
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache(request, monkeypatch):
    # Throttle counts and cached responses live in the cache; they must not leak between tests,
    # and neither may the process's count of requests served without it (shown in /healthz).
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    from django.core.cache import cache

    from core.cache_outage import cache_outages
    from core.rate_leases import allowance_leases

    monkeypatch.setattr(cache_outages, "_count", 0)
    cache.clear()
    # Leases of the process (core.rate_leases) come from the counters cleared.
    allowance_leases.forget()
    yield
    cache.clear()
    allowance_leases.forget()


@pytest.fixture(autouse=True)
def fresh_claim_index(request, monkeypatch, tmp_path):
    # The process's claim index (and its saved snapshot) outlive a test's database rows; a
    # rolled-back claim's id is reused by the next test's claim, which must not inherit its vector.
    if request.config.pluginmanager.hasplugin("django"):
        import claims.similarity

        monkeypatch.setattr(claims.similarity, "_process_index", None)
        settings = request.getfixturevalue("settings")
        settings.CLAIM_INDEX_SNAPSHOT = tmp_path / "claim-index.usearch"


@pytest.fixture
def indexed():
    """indexed(*claims): the claims indexed for matching, as the index task would after commit."""
    from claims.services import claims_index

    def index(*claims):
        claims_index(claim_ids=[claim.pk for claim in claims])
        return claims

    return index


@pytest.fixture(scope="session")
def httpserver_listen_address():
    # One local HTTP server serves the whole run, as 127.0.0.1 whichever test starts it: the guard
    # treats the name "localhost" apart from that address, and per-host fetch limits key on it.
    return ("127.0.0.1", 0)


@pytest.fixture
def queued():
    """Records the fetches asked of the broker instead of sending them."""
    from unittest import mock

    with mock.patch("sources.services.enqueue_fetch") as enqueue_fetch:
        yield enqueue_fetch


@pytest.fixture
def as_user(client):
    """The Django test client, logged in as the given user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def worker(httpserver, settings):
    """A real Celery worker process, both it and this process allowed to fetch the local server."""
    from tests.processes import WorkerProcess, purge_queues

    ports = {80, 443, httpserver.port}
    settings.SOURCES_ALLOW_PRIVATE_NETWORKS = True
    settings.SOURCES_ALLOWED_PORTS = frozenset(ports)
    purge_queues()
    process = WorkerProcess(
        {
            "SOURCES_ALLOW_PRIVATE_NETWORKS": "1",
            "SOURCES_ALLOWED_PORTS": ",".join(str(port) for port in sorted(ports)),
        }
    ).start()
    yield process
    process.stop()


@pytest.fixture
def fact_checker(db):
    from tests.factories import FactCheckerFactory

    return FactCheckerFactory()


@pytest.fixture
def other_fact_checker(db):
    from tests.factories import FactCheckerFactory

    return FactCheckerFactory()


@pytest.fixture
def reviewer(db):
    from tests.factories import ReviewerFactory

    return ReviewerFactory()


@pytest.fixture
def second_reviewer(db):
    from tests.factories import ReviewerFactory

    return ReviewerFactory()


@pytest.fixture
def superuser(db):
    from tests.factories import UserFactory

    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def client_for():
    """An API client authenticated with the user's DRF token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def make(user) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def tmpfs_disk(tmp_path):
    """Mounts real disks (tmpfs) of a given size, e.g. "256k"; unmounted after the test. Mounting
    needs root; where it is refused the test is skipped."""
    import subprocess

    mounted_points = []

    def mount(size: str):
        mount_point = tmp_path / f"disk-{len(mounted_points)}"
        mount_point.mkdir()
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
            capture_output=True, text=True, check=False,
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
        mounted_points.append(mount_point)
        return mount_point

    yield mount
    for mount_point in mounted_points:
        # Lazily: a service process stopped a moment ago may still hold a file open there.
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


@pytest.fixture
def small_disk(tmpfs_disk):
    """A real 256 kB disk."""
    return tmpfs_disk("256k")
