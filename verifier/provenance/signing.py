"""ECDSA P-256 signatures over short texts (a hash, a checkpoint), in the encoding WACZ anonymous
signatures use: the signature is base64 of the raw r || s pair over the text's UTF-8 bytes with
SHA-256 (what WebCrypto's ECDSA produces and checks), the public key base64 of its DER
SubjectPublicKeyInfo. Signing is deterministic (RFC 6979), so the same text and key always give
the same signature and a rebuilt package is byte-for-byte the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

CURVE = ec.SECP256R1()
_COORDINATE_BYTES = 32
_ALGORITHM = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


def signing_key_generate() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(CURVE)


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_from_pem(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != CURVE.name:
        raise ValueError("the signing key must be an ECDSA P-256 private key")
    return key


def public_key_b64(key: ec.EllipticCurvePublicKey) -> str:
    """The public key as WACZ signatures carry it: base64 of DER SubjectPublicKeyInfo."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def public_key_pem(key: ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_from_b64(text: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error):
        raise ValueError("not a base64 DER public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != CURVE.name:
        raise ValueError("not an ECDSA P-256 public key")
    return key


def public_key_b64_from_pem(pem: bytes) -> str:
    """A PEM public key (or certificate-free key file) as base64 DER, for comparing keys."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != CURVE.name:
        raise ValueError("not an ECDSA P-256 public key")
    return public_key_b64(key)


def key_id(public_key_base64: str) -> str:
    """A short, stable name for a public key: SHA-256 of its DER encoding, hex."""
    return hashlib.sha256(base64.b64decode(public_key_base64)).hexdigest()


def sign_text(key: ec.EllipticCurvePrivateKey, text: str) -> str:
    r, s = decode_dss_signature(key.sign(text.encode("utf-8"), _ALGORITHM))
    raw = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
    return base64.b64encode(raw).decode("ascii")


def signature_valid(public_key_base64: str, text: str, signature: str) -> bool:
    """Whether `signature` (base64 r || s) is the key's signature of `text`; never raises."""
    try:
        key = public_key_from_b64(public_key_base64)
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        return False
    if len(raw) != 2 * _COORDINATE_BYTES:
        return False
    r = int.from_bytes(raw[:_COORDINATE_BYTES], "big")
    s = int.from_bytes(raw[_COORDINATE_BYTES:], "big")
    try:
        key.verify(encode_dss_signature(r, s), text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True
