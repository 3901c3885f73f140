"""The claim text's full-text document stored in a generated column with its own GIN index, in place of
the expression index of 0002 (claims.selectors.claims_matching_text filters on the column).

With an expression index, every row the planner reads rather than finds through the index (a scan
of the primary key for a page newest first, the admin's count of the first pages) computes
to_tsvector() again: at 100,000 claims that was most of the admin search's time. A stored
document costs that once per write, as the expression index already did.

PostgreSQL only, and out of the model state like 0002's indexes: SQLite has no tsvector and matches
substrings there. Adding a stored generated column rewrites the claims table under an exclusive
lock (3 s at 100,000 claims on the benchmark machine); the index is then built concurrently.
"""

from django.db import migrations

SEARCH_CONFIG = "english"
# The expression of 0002's index, so that a claim matches the same words as before.
DOCUMENT = f"to_tsvector('{SEARCH_CONFIG}'::regconfig, COALESCE(text, ''))"
COLUMN = "search_document"
INDEX = "claim_search_document_idx"
OLD_INDEX = "claim_text_search_idx"


FORWARD = [
    f"ALTER TABLE claims_claim ADD COLUMN IF NOT EXISTS {COLUMN} tsvector GENERATED ALWAYS AS ({DOCUMENT}) STORED",
    # Concurrently: building the index must not block publishing on a large claims table.
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON claims_claim USING gin ({COLUMN})",
    # Nothing filters on the expression any more; keeping its index would only slow every write.
    f"DROP INDEX CONCURRENTLY IF EXISTS {OLD_INDEX}",
]
BACKWARD = [
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {OLD_INDEX} ON claims_claim USING gin ({DOCUMENT})",
    # Drops its index with it.
    f"ALTER TABLE claims_claim DROP COLUMN IF EXISTS {COLUMN}",
]


def on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("claims", "0007_claim_lexical_index"),
    ]

    operations = [
        migrations.RunPython(on_postgresql(FORWARD), on_postgresql(BACKWARD), elidable=False),
    ]
