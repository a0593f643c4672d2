"""Trigram indexes for the site search's icontains on proposals and decisions.

The search page looks for every word in titles and summaries with `icontains`, which Django
writes as UPPER(column::text) LIKE UPPER('%word%'): no b-tree can serve a pattern that starts
with a wildcard, so each search read all 20,000 decisions and 15,000 proposals of the
synthetic record (18-22 ms each for "diamonds"). A GIN trigram index on exactly that
expression lets PostgreSQL find the matches (under 1 ms). Words under three letters have no
trigram and are still found by a scan.

PostgreSQL only, as 0009 and 0013: pg_trgm is a trusted extension (PostgreSQL 13+), which the
database owner may create; SQLite's search is a scan in any case. Not in the model state, so
`makemigrations` sees no change.
"""

from django.db import migrations

INDEXES = {
    "decision_title_trgm": ("proposals_decision", "title"),
    "decision_summary_trgm": ("proposals_decision", "summary"),
    "proposal_title_trgm": ("proposals_proposal", "title"),
    "proposal_summary_trgm": ("proposals_proposal", "summary"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("proposals", "0014_letter_newest_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
