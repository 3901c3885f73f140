"""Each test signs with its own key file, so generating, rotating and trusting keys are seen."""

import pytest


@pytest.fixture(autouse=True)
def signing_key_file(settings, tmp_path):
    path = tmp_path / "keys" / "signing-key.pem"
    settings.VERIFIER_SIGNING_KEY = path
    return path
