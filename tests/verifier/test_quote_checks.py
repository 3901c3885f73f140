"""Every quote citing a source checked against its new snapshot (claims.services.
source_evidence_check_quotes, read and written with SQL compiled once per process): the result each
evidence shows is the one evidence_check_quote gives it alone, and a re-check of the same page moves
only quote_checked_at."""

import pytest

from claims.models import Claim, Evidence
from claims.services import evidence_check_quote, source_evidence_check_quotes
from sources.models import Snapshot
from tests.verifier.conftest import IRAN_QUOTE, record_fetch
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

URL = "https://news.example.org/shared-story"
OTHER_QUOTE = "the drones were delivered in August"
# Not the page make_published_claim records.
PAGE = f"Iran repeated that {IRAN_QUOTE}."


@pytest.fixture
def citing(fact_checker, make_published_claim) -> list[Evidence]:
    """Three evidence citing one source: a published claim's, and two quotes of a draft's."""
    published = make_published_claim(evidence=[(URL, IRAN_QUOTE)])
    draft = claim_create(actor=fact_checker, text="Drones were delivered in August", claimant_name="Iran")
    for quote in (IRAN_QUOTE, OTHER_QUOTE):
        evidence_add(actor=fact_checker, claim=draft, url=URL, quote=quote, stance="supports")
    return list(Evidence.objects.filter(claim__in=[published, draft]).order_by("id"))


def _shown(evidence: list[Evidence]) -> list[tuple[int | None, str]]:
    rows = Evidence.objects.filter(pk__in=[e.pk for e in evidence]).order_by("id")
    return [(e.quote_checked_snapshot_id, e.quote_status) for e in rows]


def test_each_quote_shows_what_checking_it_alone_gives(citing):
    source = citing[0].source
    snapshot = record_fetch(source, text=PAGE)
    alone = [
        evidence_check_quote(evidence=e, snapshot=snapshot) for e in Evidence.objects.filter(source=source)
    ]

    checked = source_evidence_check_quotes(snapshot=snapshot)

    assert alone == ["found", "found", "not_found"]
    assert _shown(citing) == [(snapshot.pk, "found"), (snapshot.pk, "found"), (snapshot.pk, "not_found")]
    assert checked.cited_by_published


def test_a_recheck_of_the_same_page_moves_only_quote_checked_at(citing):
    source = citing[0].source
    first = record_fetch(source, text=PAGE)
    before = {e.pk: e.quote_checked_at for e in Evidence.objects.filter(source=source)}
    updated_at = dict(Claim.objects.values_list("pk", "updated_at"))

    again = record_fetch(source, text=PAGE)

    assert again.change == Snapshot.Change.SAME
    assert _shown(citing) == [(first.pk, "found"), (first.pk, "found"), (first.pk, "not_found")]
    after = {e.pk: e.quote_checked_at for e in Evidence.objects.filter(source=source)}
    assert all(after[pk] > before[pk] for pk in before)
    assert dict(Claim.objects.values_list("pk", "updated_at")) == updated_at


def test_a_changed_page_is_shown_by_every_quote_and_moves_their_claims(citing):
    source = citing[0].source
    record_fetch(source, text=PAGE)
    draft = citing[2].claim

    changed = record_fetch(source, text=f"{PAGE} And {OTHER_QUOTE}.")
    checked = source_evidence_check_quotes(snapshot=changed)

    assert _shown(citing) == [(changed.pk, "found")] * 3
    # Checked again against the same snapshot: nothing reads differently any more.
    assert checked.shown_changed == set()
    draft.refresh_from_db()
    assert draft.updated_at == changed.fetched_at
