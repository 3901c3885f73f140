"""A source and its snapshots as staff see them through the API (never the text or the body)."""

from rest_framework import serializers

from sources.models import Snapshot, Source


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = Snapshot
        fields = [
            "id",
            "fetched_at",
            "outcome",
            "error_detail",
            "change",
            "requested_url",
            "final_url",
            "redirect_chain",
            "connected_ip",
            "http_status",
            "headers",
            "content_type",
            "charset",
            "bytes_received",
            "body_bytes",
            "truncated",
            "content_sha256",
            "text_sha256",
            "title",
            "author",
            "published",
        ]
        read_only_fields = fields


class SourceSerializer(serializers.ModelSerializer):
    snapshots = SnapshotSerializer(
        source="snapshots_newest_first", many=True, read_only=True, help_text="Newest first."
    )

    class Meta:
        model = Source
        fields = [
            "id",
            "url",
            "status",
            "outcome",
            "outcome_reason",
            "fetch_requested_at",
            "last_fetched_at",
            "next_check_at",
            "created_at",
            "snapshots",
        ]
        read_only_fields = fields
