"""Each claim flagged before flags were kept as entries becomes one open entry: the snapshot its
reason names (else the latest changed or gone snapshot of a source it cites), compared with the
snapshot the published verdict was approved on."""

import re

from django.db import migrations

_SNAPSHOT_IN_REASON = re.compile(r"\(snapshot (\d+),")


def _single_flags_to_entries(apps, schema_editor):
    Claim = apps.get_model("claims", "Claim")
    Snapshot = apps.get_model("sources", "Snapshot")
    SourceFlag = apps.get_model("verifier", "SourceFlag")
    Verdict = apps.get_model("verifier", "Verdict")
    for claim in Claim.objects.exclude(source_flag="").iterator():
        cited_sources = Snapshot.objects.filter(source__evidence__claim=claim)
        named = _SNAPSHOT_IN_REASON.search(claim.source_flag)
        snapshot = cited_sources.filter(pk=int(named.group(1))).first() if named else None
        if snapshot is None:
            snapshot = cited_sources.filter(change__in=("changed", "gone")).order_by("-fetched_at", "-id").first()
        if snapshot is None:
            continue
        verdict = Verdict.objects.filter(claim=claim, state="approved").order_by("-version").first()
        approved_snapshot_id = None
        for entry in verdict.evidence_fingerprint if verdict else []:
            if entry.get("url") == snapshot.source.url and entry.get("snapshot") is not None:
                approved_snapshot_id = int(entry["snapshot"])
                break
        SourceFlag.objects.get_or_create(
            claim=claim,
            new_snapshot=snapshot,
            defaults={
                "source_id": snapshot.source_id,
                "kind": "gone" if snapshot.change == "gone" else "changed",
                "approved_snapshot_id": approved_snapshot_id,
                "detected_at": claim.source_flagged_at or snapshot.fetched_at,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("verifier", "0006_source_flags_and_correction_note"),
    ]

    operations = [
        migrations.RunPython(_single_flags_to_entries, migrations.RunPython.noop),
    ]
