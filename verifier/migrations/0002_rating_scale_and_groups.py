from django.contrib.auth.management import create_permissions
from django.db import migrations

RATINGS = [
    # label, slug, value, description
    ("True", "true", 5, "The claim is accurate and nothing significant is missing."),
    ("Mostly true", "mostly-true", 4, "The claim is accurate but needs clarification or detail."),
    ("Half true", "half-true", 3, "The claim is partially accurate but leaves out important details."),
    ("Mostly false", "mostly-false", 2, "The claim contains an element of truth but ignores facts that would give a different impression."),
    ("False", "false", 1, "The claim is not accurate."),
    ("Misleading", "misleading", None, "Accurate facts presented so as to give a false impression."),
    ("Missing context", "missing-context", None, "Needs context that changes how it should be understood."),
    ("Unverifiable", "unverifiable", None, "The available evidence can neither confirm nor refute it."),
]

FACT_CHECKER_PERMISSIONS = [
    ("claims", "add_claim"), ("claims", "change_claim"), ("claims", "view_claim"),
    ("claims", "add_evidence"), ("claims", "change_evidence"), ("claims", "delete_evidence"), ("claims", "view_evidence"),
    ("claims", "add_claimant"), ("claims", "change_claimant"), ("claims", "view_claimant"),
    ("claims", "add_tag"), ("claims", "change_tag"), ("claims", "view_tag"),
    ("sources", "view_source"), ("sources", "view_snapshot"),
    ("verifier", "add_verdict"), ("verifier", "change_verdict"), ("verifier", "view_verdict"),
    ("verifier", "view_rating"), ("verifier", "view_reviewlogentry"),
]
REVIEWER_PERMISSIONS = [
    ("claims", "view_claim"), ("claims", "view_evidence"), ("claims", "view_claimant"), ("claims", "view_tag"),
    ("sources", "view_source"), ("sources", "view_snapshot"),
    ("verifier", "view_verdict"), ("verifier", "review_verdict"),
    ("verifier", "view_rating"), ("verifier", "view_reviewlogentry"),
]
GROUPS = {"Fact-checkers": FACT_CHECKER_PERMISSIONS, "Reviewers": REVIEWER_PERMISSIONS}


def create_rating_scale(apps, schema_editor):
    Rating = apps.get_model("verifier", "Rating")
    for order, (label, slug, value, description) in enumerate(RATINGS, start=1):
        Rating.objects.get_or_create(
            slug=slug, defaults={"label": label, "value": value, "description": description, "order": order}
        )


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in codenames:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("verifier", "0001_initial"),
        ("claims", "0001_initial"),
        ("sources", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_rating_scale, migrations.RunPython.noop),
        migrations.RunPython(create_groups, migrations.RunPython.noop),
    ]
