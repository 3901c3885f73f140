"""The review log's chain hash, shared by the model that writes entries and by the package checker
that recomputes them from a package alone."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def entry_chain_hash(previous_hash: str, content: Mapping[str, Any]) -> str:
    """An entry's hash: SHA-256 of the previous entry's hash and the entry's canonical JSON."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()
