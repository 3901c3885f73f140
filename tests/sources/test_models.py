"""The snapshot's outcome codes are the fetcher's, listed once (sources/fetcher/result.py)."""

from sources.fetcher import Outcome
from sources.models import Snapshot


def test_the_snapshot_outcome_choices_are_the_fetcher_outcomes_with_their_labels() -> None:
    choices = Snapshot._meta.get_field("outcome").choices

    assert choices == [(outcome.value, outcome.label) for outcome in Outcome]
    assert Snapshot.Outcome is Outcome
