"""RFC 3161 trusted timestamps: asking an authority to sign "this SHA-256 existed at this time".

The request names the digest itself (a message imprint), so a capture or a package of any size is
stamped without being read again. The authority is the operator's choice (VERIFIER_TSA_URL), not
a URL from a cited page, so it is called directly rather than through the fetcher's address
guard; the call still has a timeout and a cap on the answer, and every failure is one exception.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import urllib3
from asn1crypto import algos, tsp
from rfc3161_client import PKIStatus, decode_timestamp_response

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_REPLY_BYTES = 256 * 1024


class TimestampUnavailable(Exception):
    """No token this time (the authority is down, slow, refused or answered nonsense)."""


@dataclass(frozen=True)
class Token:
    """A DER TimeStampResp and the time the authority put in it."""

    der: bytes
    stamped_at: datetime


def timestamp_query(digest: bytes, nonce: int) -> bytes:
    """A DER TimeStampReq for a SHA-256 digest, asking for the authority's certificate."""
    return tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    ).dump()


def timestamp_request(*, url: str, digest: bytes, timeout: float) -> Token:
    """Asks the authority at `url` to stamp the SHA-256 `digest`; raises TimestampUnavailable."""
    nonce = secrets.randbits(63)
    try:
        response = urllib3.request(
            "POST",
            url,
            body=timestamp_query(digest, nonce),
            headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
            timeout=urllib3.Timeout(total=timeout),
            retries=False,
            redirect=False,
            preload_content=False,
        )
        try:
            data = response.read(MAX_REPLY_BYTES + 1)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        raise TimestampUnavailable(f"the authority could not be reached: {error}") from None
    if response.status != 200:
        raise TimestampUnavailable(f"the authority answered {response.status}")
    if len(data) > MAX_REPLY_BYTES:
        raise TimestampUnavailable("the authority's answer is too large")
    return token_accepted(data, digest=digest, nonce=nonce)


def token_accepted(data: bytes, *, digest: bytes, nonce: int) -> Token:
    """The answer as a token, if it grants a stamp of this digest for this request."""
    try:
        reply = decode_timestamp_response(data)
    except ValueError as error:
        raise TimestampUnavailable(f"the answer is not a timestamp response ({error})") from None
    if reply.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampUnavailable(f"the authority refused: status {reply.status}")
    info = reply.tst_info
    if info.message_imprint.message != digest:
        raise TimestampUnavailable("the token stamps another digest")
    if info.nonce != nonce:
        raise TimestampUnavailable("the token answers another request (nonce)")
    return Token(der=data, stamped_at=info.gen_time)
