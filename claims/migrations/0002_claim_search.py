"""Full-text search indexes for the read API's `q` (claims.selectors.claims_matching_text).

Expression indexes on PostgreSQL only: SQLite has no full-text search of this kind, and the API falls
back to a plain substring match there. They stay out of the model state on purpose: SQLite rebuilds a
table with every index of its model state, and it cannot build these.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

# Must stay the expressions claims.selectors.claims_matching_text filters on, or the planner will
# not use the indexes.
SEARCH_CONFIG = "english"
INDEXES = {
    "Claim": GinIndex(SearchVector("text", config=SEARCH_CONFIG), name="claim_text_search_idx"),
    "Claimant": GinIndex(SearchVector("name", config=SEARCH_CONFIG), name="claimant_name_search_idx"),
}


def add_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, index in INDEXES.items():
        # Concurrently: building the index must not block publishing on a large claims table.
        schema_editor.add_index(apps.get_model("claims", model_name), index, concurrently=True)


def remove_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, index in INDEXES.items():
        schema_editor.remove_index(apps.get_model("claims", model_name), index, concurrently=True)


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("claims", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(add_search_indexes, remove_search_indexes, elidable=False),
    ]
