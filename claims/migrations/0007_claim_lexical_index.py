"""The lexical tier of claim matching (claims.similarity): candidates found by their characters,
beside the vector ones, so a copy, a typo or a short form is found among 100,000 look-alikes.

PostgreSQL: a pg_trgm GIN index on the claim text (word similarity, always current). SQLite: an
FTS5 table of claim texts (diacritics folded), written by the index service with each vector. Both
stay out of the model state, as the full-text indexes of 0002 do.
"""

from django.db import migrations

TRIGRAM_INDEX = "claim_text_trgm_idx"
LEXICAL_TABLE = "claims_claim_lexical"


def add_lexical_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # Concurrently: building the index must not block writes to a large claims table.
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {TRIGRAM_INDEX} ON claims_claim"
            " USING gin (text gin_trgm_ops)"
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {LEXICAL_TABLE} USING fts5("
            "text, tokenize = 'unicode61 remove_diacritics 2')"
        )
        schema_editor.execute(f"INSERT INTO {LEXICAL_TABLE} (rowid, text) SELECT id, text FROM claims_claim")


def remove_lexical_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {TRIGRAM_INDEX}")
    elif vendor == "sqlite":
        schema_editor.execute(f"DROP TABLE IF EXISTS {LEXICAL_TABLE}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("claims", "0006_claim_language_same_as_vector"),
    ]

    operations = [
        migrations.RunPython(add_lexical_index, remove_lexical_index, elidable=False),
    ]
