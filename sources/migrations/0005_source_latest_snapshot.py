from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def point_each_source_at_its_newest_snapshot(apps, schema_editor):
    Source = apps.get_model("sources", "Source")
    Snapshot = apps.get_model("sources", "Snapshot")
    newest = Snapshot.objects.filter(source=OuterRef("pk")).order_by("-fetched_at", "-id").values("pk")[:1]
    Source.objects.update(latest_snapshot=Subquery(newest))


class Migration(migrations.Migration):
    dependencies = [
        ("sources", "0004_source_fetch_lease_expires_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="source",
            name="latest_snapshot",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="+",
                to="sources.snapshot",
            ),
        ),
        migrations.RunPython(point_each_source_at_its_newest_snapshot, migrations.RunPython.noop),
    ]
