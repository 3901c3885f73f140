"""Each test signs with its own key file, so generating, rotating and trusting keys are seen."""

import pytest


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    # pytest-httpserver starts one server per session, at the address asked for by whichever
    # test needs it first; tests/sources expects 127.0.0.1, so the same is asked for here.
    return ("127.0.0.1", 0)


@pytest.fixture(autouse=True)
def signing_key_file(settings, tmp_path):
    path = tmp_path / "keys" / "signing-key.pem"
    settings.VERIFIER_SIGNING_KEY = path
    return path


@pytest.fixture
def tsa(settings):
    """A local RFC 3161 authority on loopback, configured as VERIFIER_TSA_URL."""
    from tests.verifier.provenance.tsa_server import LocalTimestampAuthority

    authority = LocalTimestampAuthority()
    settings.VERIFIER_TSA_URL = authority.url
    settings.VERIFIER_TSA_TIMEOUT = 5.0
    yield authority
    authority.close()


@pytest.fixture
def site(settings, httpserver, queued):
    """A local page (the seed article's drones paragraph) the fetcher may fetch."""
    from tests.verifier.provenance.packages import serve_article

    return serve_article(settings, httpserver)


@pytest.fixture
def spec(site, fact_checker, reviewer):
    """The package inputs of a claim published through the workflow, its source really fetched."""
    from tests.verifier.provenance.packages import published_spec

    return published_spec(site, fact_checker, reviewer)


@pytest.fixture
def storage_opens(monkeypatch):
    """The names opened in the configured storage from now on, in order."""
    from django.core.files.storage import default_storage

    opened: list[str] = []
    real_open = default_storage.open

    def recording_open(name, mode="rb"):
        opened.append(name)
        return real_open(name, mode)

    monkeypatch.setattr(default_storage, "open", recording_open)
    return opened
