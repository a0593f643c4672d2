# The engine rewrites `outcome`; an index on it ruled out HOT updates (docs/benchmarks.md,
# "Consensus engine").

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("proposals", "0010_position_objection_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="decision",
            name="decision_outcome",
        ),
    ]
