"""The server api_read.py measures: /floor answers fixed bytes, /anchor/drf and /anchor/values the
list page built two other ways (below), everything else is Verifier.

The floor is what the same gunicorn workers do with no framework at all: the best any endpoint of
the app could reach on this machine. FLOOR_BYTES sets its size (that of a list page).

The anchors are what Verifier's cold list is compared with, on the same data and server:

- `drf_list`: what a typical DRF app does, a nested ModelSerializer over a queryset with
  select_related and prefetch_related (claimant, tags, verdicts with their rating, evidence with its
  source and that source's snapshots, without their text);
- `values_list`: a hand-built page, `values()` per table straight into dicts, encoded by orjson.

Both return the newest page of published claims (the size of Verifier's default page) and skip
Django's middleware and DRF's request handling: each is a little faster than the app it stands for,
which makes the comparison stricter for Verifier.
"""

import os
from collections import defaultdict
from typing import Any

import orjson
from django.db import close_old_connections
from django.db.models import Prefetch
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from config.wsgi import application as verifier

# isort: split
# Models only import once Django is set up, which loading the application does.
from claims.models import Claim, Claimant, Evidence, Tag
from sources.models import Snapshot, Source
from verifier.api.pagination import KeysetCursorPagination
from verifier.models import Rating, Verdict

FLOOR_BODY = b"{" + b" " * max(0, int(os.environ.get("FLOOR_BYTES", "30000")) - 2) + b"}"
FLOOR_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(FLOOR_BODY)))]


PAGE = KeysetCursorPagination.page_size


class RatingModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rating
        fields = ["label", "value"]


class VerdictModelSerializer(serializers.ModelSerializer):
    rating = RatingModelSerializer()

    class Meta:
        model = Verdict
        fields = ["rating", "summary", "explanation", "version", "approved_at"]


class SnapshotModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Snapshot
        fields = ["final_url", "title", "http_status", "fetched_at", "content_sha256"]


class SourceModelSerializer(serializers.ModelSerializer):
    snapshots = SnapshotModelSerializer(many=True)

    class Meta:
        model = Source
        fields = ["url", "status", "snapshots"]


class EvidenceModelSerializer(serializers.ModelSerializer):
    source = SourceModelSerializer()  # type: ignore[assignment]  # the field, not Field.source

    class Meta:
        model = Evidence
        fields = ["stance", "quote", "quote_status", "note", "source"]


class ClaimantModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Claimant
        fields = ["name", "url"]


class ClaimModelSerializer(serializers.ModelSerializer):
    claimant = ClaimantModelSerializer()
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")  # type: ignore[var-annotated]
    verdicts = VerdictModelSerializer(many=True)
    evidence = EvidenceModelSerializer(many=True)

    class Meta:
        model = Claim
        fields = [
            "id", "text", "claimant", "claim_date", "appearance_url", "tags", "status", "published_at",
            "updated_at", "verdicts", "evidence",
        ]


def _newest_published() -> Any:
    return Claim.objects.filter(status=Claim.Status.PUBLISHED).order_by("-published_at", "-id")


def drf_list() -> bytes:
    claims = (
        _newest_published()
        .select_related("claimant")
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name")),
            Prefetch("verdicts", queryset=Verdict.objects.select_related("rating")),
            Prefetch("evidence", queryset=Evidence.objects.select_related("source").order_by("id")),
            Prefetch("evidence__source__snapshots", queryset=Snapshot.objects.defer("text", "headers")),
        )[:PAGE]
    )
    return JSONRenderer().render({"results": ClaimModelSerializer(claims, many=True).data})


def _rows(rows: Any) -> list[dict[str, Any]]:
    # values() rows, typed as plain dicts to be reshaped in place.
    return list(rows)


def values_list() -> bytes:
    claims = list(
        _newest_published().values(
            "id", "text", "claimant__name", "claimant__url", "claim_date", "appearance_url", "status",
            "published_at", "updated_at",
        )[:PAGE]
    )
    ids = [claim["id"] for claim in claims]
    tags: dict[int, list[str]] = defaultdict(list)
    for claim_id, name in Claim.tags.through.objects.filter(claim_id__in=ids).values_list(
        "claim_id", "tag__name"
    ):
        tags[claim_id].append(name)
    verdicts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for verdict in _rows(Verdict.objects.filter(claim_id__in=ids).values(
        "claim_id", "rating__label", "rating__value", "summary", "explanation", "version", "approved_at"
    )):
        verdicts[verdict.pop("claim_id")].append(verdict)
    evidence: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in _rows(Evidence.objects.filter(claim_id__in=ids).order_by("id").values(
        "claim_id", "stance", "quote", "quote_status", "note", "source__url", "source__status",
        "quote_checked_snapshot__final_url", "quote_checked_snapshot__title",
        "quote_checked_snapshot__http_status", "quote_checked_snapshot__fetched_at",
        "quote_checked_snapshot__content_sha256",
    )):
        evidence[item.pop("claim_id")].append(item)
    for claim in claims:
        claim["tags"] = tags[claim["id"]]
        claim["verdicts"] = verdicts[claim["id"]]
        claim["evidence"] = evidence[claim["id"]]
    return orjson.dumps({"results": claims}, option=orjson.OPT_UTC_Z)


ANCHORS = {"/anchor/drf": drf_list, "/anchor/values": values_list}


def application(environ, start_response):  # type: ignore[no-untyped-def]
    if environ.get("PATH_INFO") == "/floor":
        start_response("200 OK", FLOOR_HEADERS)
        return [FLOOR_BODY]
    anchor = ANCHORS.get(environ.get("PATH_INFO", ""))
    if anchor is not None:
        # As Django's request_started and request_finished would: no connection outlives its age.
        close_old_connections()
        body = anchor()
        close_old_connections()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    return verifier(environ, start_response)
