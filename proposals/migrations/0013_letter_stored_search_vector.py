"""The letters' search vector as a stored generated column, indexed, in place of the expression
index of 0009.

With only the expression indexed, PostgreSQL found the matching letters by the index but built
every match's vector again to rank it (ts_rank), and again to select it: 60-80 ms for the 2,000
letters of the synthetic record matching "diamonds". Read from the stored column, ranking them
takes under 10 ms. The expression is the one Django writes for SearchVector("subject",
weight="A", config="english") + SearchVector("summary", weight="B", config="english"), as
before, so ranks and matches are unchanged.

Raw SQL on PostgreSQL only, as in 0009: SQLite has no full-text search here (the archive falls
back to icontains), and the column is not part of the model state (proposals/search.py reads it
by name), so `makemigrations` sees no change and SQLite databases have no such column.
"""

from django.db import migrations

COLUMN = "search_vector"
INDEX = "letter_search_vector"
VECTOR = """
    setweight(to_tsvector('english'::regconfig, COALESCE(subject, '')), 'A')
    || setweight(to_tsvector('english'::regconfig, COALESCE(summary, '')), 'B')
"""
FORWARD = [
    f"DROP INDEX IF EXISTS {INDEX}",
    f"ALTER TABLE proposals_letter ADD COLUMN {COLUMN} tsvector "
    f"GENERATED ALWAYS AS ({VECTOR}) STORED",
    f"CREATE INDEX {INDEX} ON proposals_letter USING gin ({COLUMN})",
]
BACKWARD = [
    f"DROP INDEX IF EXISTS {INDEX}",
    f"ALTER TABLE proposals_letter DROP COLUMN IF EXISTS {COLUMN}",
    f"CREATE INDEX {INDEX} ON proposals_letter USING gin (({VECTOR}))",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("proposals", "0012_decision_effective_date")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
