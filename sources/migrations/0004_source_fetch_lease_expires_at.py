from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sources", "0003_snapshot_warc"),
    ]

    operations = [
        migrations.AddField(
            model_name="source",
            name="fetch_lease_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
