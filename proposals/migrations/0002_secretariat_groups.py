from django.db import migrations

from kp_tracker.groups import grant_secretariat_permissions

RECORD_APPS = ["sources", "participants", "meetings", "proposals"]


def grant(apps, schema_editor):
    grant_secretariat_permissions(apps, schema_editor, RECORD_APPS)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sources", "0001_initial"),
        ("participants", "0001_initial"),
        ("meetings", "0002_initial"),
        ("proposals", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
