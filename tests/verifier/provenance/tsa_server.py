"""A small RFC 3161 timestamp authority for tests, served over real HTTP on loopback.

Its certificate chain is a root and a timestamping certificate (critical extended key usage
id-kp-timeStamping); tokens are CMS SignedData over a TSTInfo with the ESS signing-certificate-v2
attribute, signed with ECDSA P-256, as RFC 3161 and RFC 5816 describe.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey, *, timestamping: bool,
) -> x509.Certificate:
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=not timestamping, path_length=None), critical=True)
    )
    if timestamping:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


class LocalTimestampAuthority:
    """Answers timestamp queries at `url`; `failing` makes it answer 503 (an outage)."""

    def __init__(self) -> None:
        root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _certificate("Test TSA Root", root_key, None, root_key, timestamping=False)
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.certificate = _certificate(
            "Test TSA", self._key, self.root, root_key, timestamping=True
        )
        self.failing = False
        self.requests = 0
        self._serials = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reply(self, query: bytes) -> bytes:
        request = tsp.TimeStampReq.load(query)
        info = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": "1.3.6.1.4.1.99999.1",
                "message_imprint": request["message_imprint"],
                "serial_number": next(self._serials),
                "gen_time": datetime.now(UTC).replace(microsecond=0),
                "nonce": request["nonce"].native,
            }
        )
        certificate_der = self.certificate.public_bytes(serialization.Encoding.DER)
        signed_attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "message_digest", "values": [hashlib.sha256(info.dump()).digest()]},
                {
                    "type": "signing_certificate_v2",
                    "values": [{"certs": [{"cert_hash": hashlib.sha256(certificate_der).digest()}]}],
                },
            ]
        )
        signature = self._key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
        certificate = asn1_x509.Certificate.load(certificate_der)
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": {
                            "issuer": certificate.issuer,
                            "serial_number": certificate.serial_number,
                        }
                    }
                ),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": signed_attrs,
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": signature,
            }
        )
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [{"algorithm": "sha256"}],
                "encap_content_info": {"content_type": "tst_info", "content": info},
                "certificates": [certificate],
                "signer_infos": [signer],
            }
        )
        return tsp.TimeStampResp(
            {
                "status": {"status": "granted"},
                "time_stamp_token": {"content_type": "signed_data", "content": signed_data},
            }
        ).dump()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                authority.requests += 1
                query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if authority.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = authority.reply(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
