from django.db import migrations

from kp_tracker.groups import EDITOR_ACTIONS, EDITOR_GROUP, VIEWER_ACTIONS, VIEWER_GROUP

# Viewers see what was sent and when, but not subscribers' addresses nor endpoints' secrets.
VIEWER_MODELS = ["event", "delivery"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate finishes; create them now (as
    # kp_tracker.groups does) so the groups get them on a fresh database in the same run.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    permissions = permission_model.objects.filter(content_type__app_label="notifications")
    editors, _ = group_model.objects.get_or_create(name=EDITOR_GROUP)
    editors.permissions.add(
        *[p for p in permissions if p.codename.split("_", 1)[0] in EDITOR_ACTIONS]
    )
    viewers, _ = group_model.objects.get_or_create(name=VIEWER_GROUP)
    viewers.permissions.add(
        *permissions.filter(
            content_type__model__in=VIEWER_MODELS,
            codename__regex=r"^(" + "|".join(VIEWER_ACTIONS) + ")_",
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("proposals", "0002_secretariat_groups"),
        ("notifications", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
