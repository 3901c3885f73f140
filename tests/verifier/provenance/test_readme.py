"""The README's signature check, run as a third party would: a separate Python with the package
and the published key, no Verifier code imported."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.verifier.provenance.packages import build, rewrite
from verifier.provenance.keys import signing_key_load
from verifier.provenance.signing import public_key_pem

pytestmark = pytest.mark.django_db

README = Path(settings.BASE_DIR) / "README.md"


def readme_check(tmp_path: Path) -> Path:
    text = README.read_text()
    section = text[text.index("## Checking an evidence package without Verifier") :]
    script = tmp_path / "check_signature.py"
    snippet = re.search(r"```python\n(.*?)```", section, re.S)
    assert snippet is not None, "the README shows the check in a python block"
    script.write_text(snippet.group(1))
    return script


def run_check(script: Path, package: Path, pem: Path) -> subprocess.CompletedProcess[str]:
    # -I: isolated, so nothing of this checkout (nor Verifier) is importable.
    return subprocess.run(
        [sys.executable, "-I", str(script), str(package), str(pem)],
        capture_output=True,
        text=True,
        cwd=script.parent,
    )


def test_the_readme_check_accepts_a_package_and_refuses_a_changed_one(spec, tmp_path):
    script = readme_check(tmp_path)
    pem = tmp_path / "verifier-signing-key.pem"
    pem.write_text(public_key_pem(signing_key_load().public_key()))
    package = build(spec, tmp_path / "package.wacz")

    accepted = run_check(script, package, pem)
    changed = rewrite(package, "datapackage.json", lambda data: data.replace(b'"title"', b'"Title"'))
    refused = run_check(script, changed, pem)

    assert accepted.returncode == 0 and accepted.stdout.startswith("signature OK: sha256:"), accepted.stderr
    assert refused.returncode == 1 and "datapackage.json is not the one that was signed" in refused.stderr
