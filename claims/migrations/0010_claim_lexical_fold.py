"""The lexical tier's index folds diacritics as its query does (claims.similarity).

The query's words are folded (claims.matching.text_fold: "petroleo" for "petróleo", "Киів" for
"Київ", ا for أ), but 0007 indexed the raw text, so a query typed without diacritics missed the
claims written with them. PostgreSQL: the trigram index is now on claims_text_fold(text), an
IMMUTABLE wrapper of `unaccent` (Latin diacritics and ligatures) plus the Cyrillic and Arabic
letters text_fold also folds; the query applies the same function to its side. SQLite: the FTS5 table
holds the folded text (its tokenizer strips Latin diacritics only).
"""

from django.db import migrations

from claims.matching.normalise import text_clean, text_fold

FOLD_FUNCTION = "claims_text_fold"
TRIGRAM_INDEX = "claim_text_trgm_idx"
FOLD_TRIGRAM_INDEX = "claim_text_fold_trgm_idx"
LEXICAL_TABLE = "claims_claim_lexical"
# What text_fold folds beyond unaccent's rules: Cyrillic й and ї (their breve and diaeresis are
# combining marks to Unicode), Arabic hamza seats, ta marbuta and alef maqsura; then, dropped, the
# letters past the end of FOLD_TO: hamza, tatweel and the Arabic vowel marks (harakat, dagger alef).
FOLD = {
    "й": "и", "Й": "И", "ї": "і", "Ї": "І", "ё": "е", "Ё": "Е",
    "\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627",
    "\u0624": "\u0648", "\u0626": "\u064a", "\u0649": "\u064a", "\u0629": "\u0647",
}  # fmt: skip
FOLD_FROM = "".join(FOLD) + "\u0621\u0640" + "".join(map(chr, range(0x064B, 0x0653))) + "\u0670"
FOLD_TO = "".join(FOLD.values())


def add_folded_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'"
            )
            schema = cursor.fetchone()[0]
        # unaccent() is only STABLE (its dictionary could be changed); naming the dictionary and
        # the schema makes the result depend on the text alone, so an index may use it.
        schema_editor.execute(
            f"CREATE OR REPLACE FUNCTION {FOLD_FUNCTION}(text) RETURNS text"
            " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE"
            f" AS $$ SELECT translate({schema}.unaccent('{schema}.unaccent'::regdictionary, $1),"
            f" '{FOLD_FROM}', '{FOLD_TO}') $$"
        )
        # Concurrently: building the index must not block writes to a large claims table.
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {FOLD_TRIGRAM_INDEX} ON claims_claim"
            f" USING gin ({FOLD_FUNCTION}(text) gin_trgm_ops)"
        )
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {TRIGRAM_INDEX}")
    elif vendor == "sqlite":
        _lexical_texts_write(apps, schema_editor, folded=True)


def remove_folded_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {TRIGRAM_INDEX} ON claims_claim"
            " USING gin (text gin_trgm_ops)"
        )
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {FOLD_TRIGRAM_INDEX}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {FOLD_FUNCTION}(text)")
    elif vendor == "sqlite":
        _lexical_texts_write(apps, schema_editor, folded=False)


def _lexical_texts_write(apps, schema_editor, *, folded):
    Claim = apps.get_model("claims", "Claim")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {LEXICAL_TABLE}")
        rows = Claim.objects.values_list("pk", "text").order_by("pk").iterator(chunk_size=1000)
        cursor.executemany(
            f"INSERT INTO {LEXICAL_TABLE} (rowid, text) VALUES (%s, %s)",
            [(pk, text_fold(text_clean(text)) if folded else text) for pk, text in rows],
        )


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("claims", "0009_claim_source_flagged_idx"),
    ]

    operations = [
        migrations.RunPython(add_folded_index, remove_folded_index, elidable=False),
    ]
