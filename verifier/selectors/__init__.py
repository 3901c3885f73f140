"""Reads of claims with their verdicts, each declaring what it loads (reads that need no verdict
are claims.selectors').

verdicts.py: which verdict counts, the current one and the latest one, defined once;
published.py: the public record, as the API, the feed and the public page show it;
workflow.py: what the fact-checkers' and reviewers' admin pages show.
"""
