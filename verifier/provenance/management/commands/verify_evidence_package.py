"""manage.py verify_evidence_package FILE [--public-key PEM] [--tsa-cert PEM]: checks a package."""

from pathlib import Path
from typing import Any

from cryptography import x509
from django.core.management.base import BaseCommand, CommandError, CommandParser

from verifier.provenance.inspection import package_inspect
from verifier.provenance.selectors import signing_keys_known
from verifier.provenance.signing import public_key_b64_from_pem


class Command(BaseCommand):
    help = (
        "Check an evidence package (WACZ): its zip structure, every resource hash, the signature, "
        "the WARC digests, the fingerprint, each quote at its offsets, the review-log entries "
        "against the checkpoint and any timestamp tokens. Exit 1 naming each failure. Without "
        "--public-key, the keys this Verifier has signed with are trusted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The .wacz evidence package.")
        parser.add_argument(
            "--public-key",
            type=Path,
            help="The organisation's public key (PEM): the only key the package may be signed with.",
        )
        parser.add_argument(
            "--tsa-cert",
            type=Path,
            help="The timestamp authority's certificate(s) (PEM) to check the RFC 3161 tokens.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["public_key"] is not None:
            try:
                trusted = [public_key_b64_from_pem(options["public_key"].read_bytes())]
            except (OSError, ValueError) as error:
                raise CommandError(f"Cannot use the public key: {error}") from None
        else:
            trusted = [key.public_key for key in signing_keys_known()]
        certificates: list[x509.Certificate] = []
        if options["tsa_cert"] is not None:
            try:
                certificates = x509.load_pem_x509_certificates(options["tsa_cert"].read_bytes())
            except (OSError, ValueError) as error:
                raise CommandError(f"Cannot use the TSA certificate: {error}") from None
        report = package_inspect(str(options["file"]), trusted_keys=trusted, tsa_certificates=certificates)
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"FAILED: {problem}")
            raise CommandError(f"The evidence package does not verify: {len(report.problems)} problem(s).")
        for checked in report.checked:
            self.stdout.write(f"checked: {checked}")
        self.stdout.write(self.style.SUCCESS(f"OK: {options['file']} verifies."))
