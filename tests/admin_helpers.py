"""Driving the Django admin in tests: the data a rendered form would post, and claims to show."""

import hashlib
import uuid
from typing import Any

from django.contrib.auth.models import User
from django.forms import BaseForm
from django.urls import reverse

from claims.models import Claim
from claims.services import evidence_check_quote
from sources.fetcher import FetchResult, Outcome
from sources.models import Snapshot, Source
from sources.services import snapshot_record, source_request_fetch
from tests.factories import rating
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.sources import snapshot_apply_to_claims
from verifier.services.verdicts import verdict_save_draft

QUOTE = "Iran says that these drones were exported before the attack on Ukraine"


def claim_url(claim: Claim, view: str = "change") -> str:
    return reverse(f"admin:claims_claim_{view}", args=[claim.pk])


def _add_form(data: dict[str, Any], form: BaseForm) -> None:
    for name in form.fields:
        value = form[name].value()
        key = form.add_prefix(name)
        if value is None or value is False:
            continue
        if value is True:
            data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(item) for item in value]
        else:
            data[key] = str(value)


def admin_form_data(response: Any) -> dict[str, Any]:
    """What the admin page's form posts when submitted unchanged: fields, inlines, management."""
    data: dict[str, Any] = {}
    _add_form(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        _add_form(data, inline.formset.management_form)
        for form in inline.formset.forms:
            _add_form(data, form)
    # On a claim page being drafted the verdict's fields are part of the same form.
    if response.context.get("verdict_form") is not None:
        _add_form(data, response.context["verdict_form"])
    return data


def snapshot_of(source: Source, *, text: str, outcome: str = Snapshot.Outcome.FETCHED) -> Snapshot:
    return Snapshot.objects.create(
        source=source,
        fetch_token=uuid.uuid4(),
        requested_url=source.url,
        final_url=source.url,
        http_status=200,
        content_type="text/html",
        outcome=outcome,
        content_sha256=uuid.uuid4().hex * 2,
        title="Iran admits sending drones",
        text=text,
    )


def drafted_claim(
    author: User,
    *,
    text: str = "Iran says the drones were exported before the invasion",
    url: str = "https://news.example.org/iran-drones",
    checked: bool = True,
) -> Claim:
    """A draft claim with one piece of evidence (its source fetched and its quote found, or with
    `checked=False` its fetch still pending) and a complete draft verdict: ready to submit. The
    broker must be patched out."""
    claim = claim_create(actor=author, text=text, claimant_name="Iran")
    evidence = evidence_add(actor=author, claim=claim, url=url, quote=QUOTE, stance="supports")
    if checked:
        snapshot = snapshot_of(evidence.source, text=f"Iran has admitted it. {QUOTE}.")
        Source.objects.filter(pk=evidence.source_id).update(
            status=Source.Status.FETCHED, outcome=Outcome.FETCHED, last_fetched_at=snapshot.fetched_at
        )
        evidence_check_quote(evidence=evidence, snapshot=snapshot)
    verdict_save_draft(
        actor=author,
        claim=claim,
        rating=rating("misleading"),
        summary="Iran admits supplying drones but disputes the timing.",
        explanation="Reports show deliveries after February 2022.",
    )
    return claim


def fetched_snapshot(source: Source, *, text: str, body: bytes) -> Snapshot:
    """A successful fetch of the source recorded as a worker records it, body stored by its hash."""
    token = source_request_fetch(source=source, queue=False)
    snapshot = snapshot_record(
        source=source,
        token=str(token),
        result=FetchResult(
            requested_url=source.url,
            final_url=source.url + "?amp=1",
            outcome=Outcome.FETCHED,
            http_status=200,
            redirect_chain=({"url": source.url, "status": 301, "location": source.url + "?amp=1"},),
            connected_ip="93.184.216.34",
            content_type="text/html; charset=utf-8",
            bytes_received=len(body),
            body=body,
            content_sha256=hashlib.sha256(body).hexdigest(),
            title="Iran admits sending drones",
            text=text,
            text_sha256=hashlib.sha256(text.encode()).hexdigest(),
        ),
        on_recorded=snapshot_apply_to_claims,
    )
    assert snapshot is not None
    return snapshot
