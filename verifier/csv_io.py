"""Claims as CSV: an import file read into checked rows, and claims written out with their verdicts.

Reading writes nothing: it parses and checks every row so a fact-checker sees a preview with
each row's errors; the rows that pass travel to the confirm step signed (django.core.signing), so
what is created is exactly what was previewed; verifier.services.claims.claims_import creates them,
applying again the rules the preview shows (no claim dated in the future, none recorded twice).
A token confirms once: import_confirm records its digest with the claims it creates.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.text import slugify

from claims.models import Claim, Claimant, Evidence, ImportConfirmation, Tag
from claims.similarity import claims_similar_to_each
from core.errors import DomainError
from verifier.models import Verdict
from verifier.selectors.evidence import ShownEvidence, evidence_of_claims, verdict_columns
from verifier.services.claims import (
    NewClaim,
    claim_date_in_future,
    claim_duplicate_key,
    claims_import,
    claims_recorded,
    url_has_credentials,
)

if TYPE_CHECKING:
    from verifier.selectors.workflow import ClaimForExport

IMPORT_COLUMNS = ("claimant", "text", "date", "appearance_url", "tags")
REQUIRED_COLUMNS = ("claimant", "text")
_COLUMN_ALIASES = {
    "claim": "text",
    "claim_date": "date",
    "appearance": "appearance_url",
    "appearance url": "appearance_url",
    "url": "appearance_url",
}
# The preview is one page and the confirmed rows travel back in the form: both stay small.
MAX_IMPORT_ROWS = 1000
# Recorded claims flagged per row of an import preview, at most.
SAME_CLAIMS_SHOWN = 3
MAX_IMPORT_BYTES = 2 * 1024 * 1024
IMPORT_TOKEN_MAX_AGE = 60 * 60
_IMPORT_SALT = "claims.csv-import"
_TAG_SEPARATORS = (";", ",")
_url_validator = URLValidator(schemes=["http", "https"])


@dataclass
class ImportRow:
    """One line of the file: its cells as read, the claim they make, or why they make none."""

    line: int
    cells: dict[str, str]
    claim: NewClaim | None = None
    errors: list[str] = field(default_factory=list)
    # What importing the row would also create.
    new_claimant: bool = False
    new_tags: list[str] = field(default_factory=list)
    # Recorded claims the row's text restates (matching's "already checked"): a warning, not an
    # error, since another claimant repeating a claim is a claim of its own.
    same_claims: list[SimilarRecorded] = field(default_factory=list)


@dataclass(frozen=True)
class SimilarRecorded:
    claim_id: int
    text: str
    status: str
    score: float


@dataclass
class ImportPreview:
    rows: list[ImportRow] = field(default_factory=list)
    # Problems with the file as a whole (encoding, header, size): no row is read then.
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> list[ImportRow]:
        return [row for row in self.rows if row.claim is not None]

    @property
    def invalid(self) -> list[ImportRow]:
        return [row for row in self.rows if row.claim is None]


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _tag_names(cell: str) -> list[str]:
    for separator in _TAG_SEPARATORS[1:]:
        cell = cell.replace(separator, _TAG_SEPARATORS[0])
    return [_one_line(name) for name in cell.split(_TAG_SEPARATORS[0]) if name.strip()]


def _check_row(line: int, cells: dict[str, str]) -> ImportRow:
    row = ImportRow(line=line, cells=cells)
    # PostgreSQL cannot store or even compare a NUL: nothing of such a row reaches a query.
    with_nul = [column for column, value in cells.items() if "\x00" in value]
    if with_nul:
        row.errors.extend(f"{column}: contains a NUL character." for column in with_nul)
        return row
    text = cells.get("text", "").strip()
    claimant = _one_line(cells.get("claimant", ""))
    if not text:
        row.errors.append("text: the claim's text is missing.")
    if not claimant:
        row.errors.append("claimant: who made the claim is missing.")
    elif len(claimant) > Claimant._meta.get_field("name").max_length:  # type: ignore[operator]
        row.errors.append("claimant: the name is longer than 200 characters.")
    claim_date = None
    raw_date = cells.get("date", "").strip()
    if raw_date:
        try:
            claim_date = datetime.date.fromisoformat(raw_date)
        except ValueError:
            row.errors.append(f"date: {raw_date!r} is not a date written as YYYY-MM-DD.")
        else:
            if claim_date_in_future(claim_date):
                row.errors.append(f"date: {raw_date} is in the future.")
    appearance_url = cells.get("appearance_url", "").strip()
    if appearance_url:
        try:
            _url_validator(appearance_url)
        except ValidationError:
            row.errors.append(f"appearance_url: {appearance_url!r} is not an http(s) URL.")
        if url_has_credentials(appearance_url):
            row.errors.append("appearance_url: the URL carries a user name or password (user:pass@).")
        if len(appearance_url) > Claim._meta.get_field("appearance_url").max_length:  # type: ignore[operator]
            row.errors.append("appearance_url: the URL is longer than 2048 characters.")
    tags = _tag_names(cells.get("tags", ""))
    for name in tags:
        if not slugify(name):
            row.errors.append(f"tags: {name!r} has no letters or digits to name it by.")
        elif len(name) > Tag._meta.get_field("name").max_length:  # type: ignore[operator]
            row.errors.append(f"tags: {name[:20]!r}… is longer than 100 characters.")
    if not row.errors:
        row.claim = NewClaim(
            text=text,
            claimant_name=claimant,
            claim_date=claim_date,
            appearance_url=appearance_url,
            tags=tuple(tags),
        )
    return row


def _refuse_duplicates(rows: list[ImportRow]) -> None:
    """A claim already recorded, or repeated in the file, is an error: an import run twice must
    not record every claim twice."""
    candidates = [row for row in rows if row.claim is not None]
    existing = claims_recorded(candidates=[row.claim for row in candidates if row.claim is not None])
    seen: dict[tuple[str, str], int] = {}
    for row in candidates:
        assert row.claim is not None
        key = claim_duplicate_key(row.claim)
        if key in existing:
            row.errors.append(f"already recorded as claim #{existing[key]}.")
        elif key in seen:
            row.errors.append(f"repeats line {seen[key]}.")
        else:
            seen[key] = row.line
        if row.errors:
            row.claim = None


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample.splitlines()[0] if sample else "", delimiters=",;\t")
    except csv.Error:
        return csv.excel


def read_claims_csv(data: bytes) -> ImportPreview:
    """Every row of the file checked, writing nothing; see IMPORT_COLUMNS for the columns."""
    preview = ImportPreview()
    if len(data) > MAX_IMPORT_BYTES:
        preview.errors.append(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB.")
        return preview
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        preview.errors.append("The file is not UTF-8 text; save it as “CSV UTF-8” and try again.")
        return preview
    reader = csv.reader(io.StringIO(content, newline=""), _dialect(content[:4096]))
    try:
        header = next(reader, [])
        columns = [_COLUMN_ALIASES.get(name.strip().lower(), name.strip().lower()) for name in header]
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            preview.errors.append(
                f"The first line must name the columns; {', '.join(missing)} is missing. "
                f"Columns: {', '.join(IMPORT_COLUMNS)}."
            )
            return preview
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(preview.rows) == MAX_IMPORT_ROWS:
                preview.errors.append(
                    f"The file has more than {MAX_IMPORT_ROWS} claims; split it into smaller files."
                )
                preview.rows = []
                return preview
            values = {
                column: cell for column, cell in zip(columns, cells, strict=False) if column
            }
            preview.rows.append(_check_row(reader.line_num, values))
    except csv.Error as error:
        preview.errors.append(f"Line {reader.line_num}: {error}.")
        preview.rows = []
        return preview
    _refuse_duplicates(preview.rows)
    _mark_new_names(preview.valid)
    _mark_same_claims(preview.valid)
    return preview


def _mark_same_claims(rows: list[ImportRow]) -> None:
    texts = [row.claim.text for row in rows if row.claim is not None]
    found = claims_similar_to_each(texts=texts, visible=Claim.objects.all(), limit=SAME_CLAIMS_SHOWN)
    same = {match.claim_id: match for matches in found for match in matches if match.same_claim}
    recorded = {
        pk: (text, status)
        for pk, text, status in Claim.objects.filter(pk__in=same).values_list("pk", "text", "status")
    }
    for row, matches in zip(rows, found, strict=True):
        row.same_claims = [
            SimilarRecorded(
                claim_id=match.claim_id,
                text=recorded[match.claim_id][0],
                status=Claim.Status(recorded[match.claim_id][1]).label,
                score=match.score,
            )
            for match in matches
            if match.same_claim and match.claim_id in recorded
        ]


def _mark_new_names(rows: list[ImportRow]) -> None:
    claims = [row.claim for row in rows if row.claim is not None]
    claimants = {name.casefold() for claim in claims for name in [claim.claimant_name]}
    tags = {name.casefold() for claim in claims for name in claim.tags}
    known_claimants = {
        name.casefold()
        for name in Claimant.objects.annotate(folded=Lower("name"))
        .filter(folded__in=[name.lower() for name in claimants])
        .values_list("name", flat=True)
    }
    known_tags = {
        name.casefold()
        for name in Tag.objects.annotate(folded=Lower("name"))
        .filter(folded__in=[name.lower() for name in tags])
        .values_list("name", flat=True)
    }
    for row in rows:
        assert row.claim is not None
        row.new_claimant = row.claim.claimant_name.casefold() not in known_claimants
        row.new_tags = [name for name in row.claim.tags if name.casefold() not in known_tags]


def import_token(claims: Iterable[NewClaim], *, user_id: int) -> str:
    """The checked claims, signed for the confirm step of this user only."""
    payload = {
        "user": user_id,
        "claims": [
            {
                "text": claim.text,
                "claimant": claim.claimant_name,
                "date": claim.claim_date.isoformat() if claim.claim_date else "",
                "appearance_url": claim.appearance_url,
                "tags": list(claim.tags),
            }
            for claim in claims
        ],
    }
    return signing.dumps(payload, salt=_IMPORT_SALT, compress=True)


def import_token_claims(token: str, *, user_id: int) -> list[NewClaim]:
    """The claims signed by import_token for this user; raises signing.BadSignature if the token
    was altered, belongs to someone else or is older than IMPORT_TOKEN_MAX_AGE."""
    payload = signing.loads(token, salt=_IMPORT_SALT, max_age=IMPORT_TOKEN_MAX_AGE)
    if payload.get("user") != user_id:
        raise signing.BadSignature("The import was previewed by someone else.")
    return [
        NewClaim(
            text=item["text"],
            claimant_name=item["claimant"],
            claim_date=datetime.date.fromisoformat(item["date"]) if item["date"] else None,
            appearance_url=item["appearance_url"],
            tags=tuple(item["tags"]),
        )
        for item in payload["claims"]
    ]


@transaction.atomic
def import_confirm(*, actor: User, token: str) -> list[Claim]:
    """Creates the claims a preview token signed for this user, once: a replayed token (a second
    click, a resent form) raises a conflict and creates nothing. Raises signing.BadSignature as
    import_token_claims does."""
    claims = import_token_claims(token, user_id=actor.pk)
    digest = hashlib.sha256(token.encode()).hexdigest()
    try:
        with transaction.atomic():
            ImportConfirmation.objects.create(token_sha256=digest, confirmed_by=actor)
    except IntegrityError:
        raise DomainError.conflict("this preview was already imported.") from None
    return claims_import(actor=actor, claims=claims)


EXPORT_COLUMNS = (
    "id",
    "public_url",
    "status",
    "text",
    "claimant",
    "claimant_url",
    "claim_date",
    "appearance_url",
    "tags",
    "assignee",
    "verdict_version",
    "verdict_state",
    "rating",
    "rating_value",
    "summary",
    "explanation",
    "verdict_author",
    "reviewer",
    "approved_at",
    "published_at",
    "evidence_urls",
    "quotes_not_found",
    # Each a word per evidence item, as evidence_urls: the snapshot shown, its SHA-256 and, for the
    # published record, what became of the source since publication.
    "evidence_snapshots",
    "evidence_sha256",
    "evidence_since_publication",
    "source_flag",
)
# A cell starting like a formula is run by spreadsheet programs; a leading apostrophe keeps it text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _export_verdict(claim: ClaimForExport, *, published: bool) -> Verdict | None:
    verdicts = claim.export_verdicts
    if published:
        return next((v for v in verdicts if v.state == Verdict.State.APPROVED), None)
    return verdicts[0] if verdicts else None


def _each(evidence: list[dict[str, Any]], value: Callable[[dict[str, Any]], Any]) -> str:
    # One word per evidence item, in the order of evidence_urls; "none" where there is nothing.
    return " ".join(str(shown) if (shown := value(item)) is not None else "none" for item in evidence)


def claim_export_row(
    claim: ClaimForExport, *, evidence: list[dict[str, Any]], published: bool
) -> list[str]:
    """The claim as one CSV row (EXPORT_COLUMNS), loaded by verifier.selectors.workflow.claims_for_export,
    with its evidence records (verifier.selectors.evidence).

    published=True: the published verdict and the evidence as it was approved, the snapshots and
    quote checks frozen then and what became of each source since (the public record); otherwise
    the latest verdict, whatever its state, and all the evidence as last checked.
    """
    verdict = _export_verdict(claim, published=published)
    public_url = claim.public_url() if claim.published_at is not None else ""
    values: list[Any] = [
        claim.pk,
        public_url,
        claim.status,
        claim.text,
        claim.claimant.name,
        claim.claimant.url,
        claim.claim_date,
        claim.appearance_url,
        "; ".join(tag.name for tag in claim.listed_tags),
        claim.assignee.get_username() if claim.assignee else "",
        verdict.version if verdict else "",
        verdict.state if verdict else "",
        verdict.rating.label if verdict and verdict.rating else "",
        verdict.rating.value if verdict and verdict.rating else "",
        verdict.summary if verdict else "",
        verdict.explanation if verdict else "",
        verdict.author.get_username() if verdict else "",
        verdict.reviewer.get_username() if verdict and verdict.reviewer else "",
        verdict.approved_at if verdict else "",
        claim.published_at,
        " ".join(item["source"]["url"] for item in evidence),
        sum(1 for item in evidence if item["quote_status"] == Evidence.QuoteStatus.NOT_FOUND),
        _each(evidence, lambda item: item["source"]["snapshot"]),
        _each(evidence, lambda item: item["source"]["content_sha256"]),
        _each(evidence, lambda item: (item["since_publication"] or {}).get("status")),
        claim.source_flag,
    ]
    return [_cell(value) for value in values]


class _Echo:
    """A file-like object that hands back what csv.writer writes, for streaming."""

    def write(self, value: str) -> str:
        return value


# Claims whose evidence is read at once: as many as the export's iterator loads per chunk.
EXPORT_BATCH = 500


def claims_csv_lines(claims: Iterable[ClaimForExport], *, published: bool) -> Iterator[str]:
    """The header line and one line per claim, to stream as a CSV download; the evidence is read
    per batch of claims (one or two queries)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    remaining = iter(claims)
    while batch := list(itertools.islice(remaining, EXPORT_BATCH)):
        verdicts = {claim.pk: _export_verdict(claim, published=published) for claim in batch}
        shown = ShownEvidence(
            evidence_of_claims(verdicts.keys()),
            # The staff export shows the work as it stands, not the public record.
            {pk: verdict_columns(verdict) if published else None for pk, verdict in verdicts.items()},
        )
        for claim in batch:
            row = claim_export_row(claim, evidence=shown.of_claim(claim.pk), published=published)
            yield writer.writerow(row)
