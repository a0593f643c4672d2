"""The two secretariat groups, kept in step with the apps' models by data migrations.

Each app that adds models calls `grant_secretariat_permissions` from a migration of its own, so
the groups always cover every model of the record.
"""

EDITOR_GROUP = "Secretariat editor"
VIEWER_GROUP = "Secretariat viewer"
EDITOR_ACTIONS = ("add", "change", "delete", "view")
VIEWER_ACTIONS = ("view",)


def grant_secretariat_permissions(apps, schema_editor, app_labels: list[str]) -> None:
    # Permissions are normally created after migrate finishes; create them now so the groups
    # can be given them in the same run on a fresh database.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for group_name, actions in (
        (EDITOR_GROUP, EDITOR_ACTIONS),
        (VIEWER_GROUP, VIEWER_ACTIONS),
    ):
        group, _ = group_model.objects.get_or_create(name=group_name)
        for app_label in app_labels:
            for action in actions:
                group.permissions.add(
                    *permission_model.objects.filter(
                        content_type__app_label=app_label,
                        codename__startswith=f"{action}_",
                    )
                )
