"""A GIN index for the letters archive's full-text search (proposals/search.py).

The indexed expression is the search vector exactly as Django writes it for
SearchVector("subject", weight="A", config="english") + SearchVector("summary", weight="B",
config="english"), so the planner uses the index for `@@` instead of building every letter's
vector per search (docs/benchmarks.md, Pages).

Raw SQL on PostgreSQL only: SQLite has no full-text search here (the archive falls back to
icontains), and the index is not part of the model state, so `makemigrations` sees no change.
"""

from django.db import migrations

INDEX = "letter_search_vector"
CREATE = f"""
CREATE INDEX IF NOT EXISTS {INDEX} ON proposals_letter USING gin ((
    setweight(to_tsvector('english'::regconfig, COALESCE(subject, '')), 'A')
    || setweight(to_tsvector('english'::regconfig, COALESCE(summary, '')), 'B')
))
"""
DROP = f"DROP INDEX IF EXISTS {INDEX}"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("proposals", "0008_lock_version_and_history")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
