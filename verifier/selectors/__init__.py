"""Reads of claims with their verdicts, each declaring what it loads.

published.py: the public record, as the API, the feed and the public page show it;
workflow.py: what the fact-checkers' and reviewers' admin pages show.
"""
