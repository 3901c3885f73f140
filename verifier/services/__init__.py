"""The workflow of SPEC §3 in one place: every write that reads verdict state or writes the review
log. The admin, the API, the CSV import and the tasks all call these.

claims.py: creating and editing claims, the freeze rules, bulk changes and the CSV import's rules;
evidence.py: adding and removing evidence while the verdict allows it; verdicts.py: draft, submit,
approve (four-eyes), request changes; sources.py: what a recorded snapshot means for the claims
citing it; webhooks.py: telling receivers; review_log.py: the append-only, hash-chained log.
"""
