"""The encoder's token-embedding table read from a file: the same vectors, 60 MB less memory, and
a copy that is rewritten from the wheel whenever it is not exactly the table."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from claims.matching import SentenceEncoder
from claims.matching.embedding import TableFile, table_file

TEXTS = [
    "Russia has acquired hundreds of drones from Iran.",
    "La Tierra es plana, según un vídeo viral.",
    "Україна отримала 5 нових літаків у 2024 році.",
    "البنك المركزي رفع سعر الفائدة",
    "#BREAKING 🚨 Covid vaccines contain MICROCHIPS!!! https://t.co/x",
]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory) -> tuple[SentenceEncoder, SentenceEncoder, Path]:
    path = tmp_path_factory.mktemp("encoder") / "table.npy"
    return SentenceEncoder(), SentenceEncoder(table_path=path), path


def test_the_table_file_gives_the_vectors_of_the_table_in_memory(encoders, fixture_claims):
    in_memory, from_file, _ = encoders
    texts = TEXTS + [claim["text"] for claim in fixture_claims]

    assert np.array_equal(from_file.encode(texts), in_memory.encode(texts))


RSS_AFTER_ENCODE = """
import sys
from pathlib import Path
from claims.matching import SentenceEncoder
table_path = Path(sys.argv[1]) if len(sys.argv) > 1 else None
encoder = SentenceEncoder(table_path=table_path)
encoder.encode(sys.stdin.read().splitlines())
with open("/proc/self/smaps_rollup") as rollup:
    print(next(int(line.split()[1]) for line in rollup if line.startswith("Rss:")))
"""


def rss_kb_after_encode(*arguments: str) -> int:
    """RSS of a fresh process that loaded an encoder and encoded TEXTS."""
    run = subprocess.run(
        [sys.executable, "-c", RSS_AFTER_ENCODE, *arguments],
        input="\n".join(TEXTS),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    return int(run.stdout)


def test_an_encoder_reading_its_table_from_the_file_holds_none_of_it(encoders):
    _, _, path = encoders

    in_memory = rss_kb_after_encode()
    from_file = rss_kb_after_encode(str(path))

    # The table is 64,000 kB, and the process that decoded it from the wheel freed it.
    assert in_memory - from_file > 55_000


def table_small() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, size=(1000, 64), dtype=np.uint8)


def test_a_missing_table_file_is_written(tmp_path):
    table = table_small()
    path = tmp_path / "cache" / "table.npy"

    rows = table_file(table, path)

    assert isinstance(rows, TableFile)
    assert np.array_equal(rows[np.arange(len(table))], table)
    assert np.array_equal(np.load(path), table)
    assert [p.name for p in path.parent.iterdir()] == ["table.npy"]


def flip_last_byte(path: Path) -> None:
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF
    path.write_bytes(bytes(content))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def garbage(path: Path) -> None:
    path.write_bytes(b"not a table")


def other_shape(path: Path) -> None:
    np.save(path, table_small()[:500])


def other_table(path: Path) -> None:
    # The right shape and type, another wheel's numbers.
    np.save(path, table_small() // 2)


@pytest.mark.parametrize("spoil", [flip_last_byte, truncate, garbage, other_shape, other_table])
def test_a_table_file_that_is_not_exactly_the_table_is_rewritten_not_trusted(tmp_path, spoil):
    table = table_small()
    path = tmp_path / "table.npy"
    table_file(table, path)
    spoil(path)

    rows = table_file(table, path)

    assert np.array_equal(rows[np.arange(len(table))], table)
    assert np.array_equal(np.load(path), table)


def test_rows_are_read_as_an_array_indexes_them(tmp_path):
    table = table_small()
    rows = table_file(table, tmp_path / "table.npy")
    ids = np.array([5, 0, 999, 5, 42])

    assert np.array_equal(rows[ids], table[ids])
    assert rows[np.array([], dtype=np.int64)].shape == (0, 64)
    with pytest.raises(IndexError):
        rows[np.array([1000])]
    with pytest.raises(IndexError):
        rows[np.array([-1])]


def test_a_corrupt_table_file_gives_the_encoder_its_right_vectors(encoders, tmp_path):
    in_memory, _, path = encoders
    corrupt = tmp_path / "table.npy"
    corrupt.write_bytes(path.read_bytes())
    flip_last_byte(corrupt)
    content = bytearray(corrupt.read_bytes())
    # A row of the first token of every text (the start-of-sentence mark): a corruption that
    # every vector would show if the file were trusted.
    header = len(content) - 128_010 * 512
    content[header + 512 : header + 1024] = bytes(512)
    corrupt.write_bytes(bytes(content))

    rebuilt = SentenceEncoder(table_path=corrupt)

    assert np.array_equal(rebuilt.encode(TEXTS), in_memory.encode(TEXTS))
    assert corrupt.read_bytes() == path.read_bytes()
