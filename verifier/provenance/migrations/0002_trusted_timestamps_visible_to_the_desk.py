from django.contrib.auth.management import create_permissions
from django.db import migrations

# Missing timestamp tokens must be visible to the people who publish (issue 10, SPEC §7 "its absence
# is visible"), not only to superusers: both groups may read the tokens page and ask for a retry.
GROUPS = ("Fact-checkers", "Reviewers")
PERMISSION = ("provenance", "view_trustedtimestamp")


def _permission(apps):
    # Permissions are normally created after all migrations ran; the groups need this one now.
    app_config = apps.get_app_config(PERMISSION[0])
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.get(content_type__app_label=PERMISSION[0], codename=PERMISSION[1])


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    permission = _permission(apps)
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    permission = _permission(apps)
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("provenance", "0001_initial"),
        ("verifier", "0002_rating_scale_and_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
