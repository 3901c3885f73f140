from django.db import models


class SigningKey(models.Model):
    """A public key Verifier has signed with. The private key lives only in the key file
    (VERIFIER_SIGNING_KEY); retired public keys stay so that older packages still verify."""

    key_id = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the DER public key.")
    public_key = models.TextField(help_text="Base64 DER SubjectPublicKeyInfo (ECDSA P-256).")
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.key_id[:16]}{' (retired)' if self.retired_at else ''}"


class ReviewLogCheckpoint(models.Model):
    """A signed head of the review log: the Merkle tree hash of its first `size` entries."""

    size = models.PositiveBigIntegerField(unique=True)
    head = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    signature = models.TextField()
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-size"]
        get_latest_by = "size"

    def __str__(self) -> str:
        return f"checkpoint of {self.size} entries ({self.head[:12]})"


class TrustedTimestamp(models.Model):
    """An RFC 3161 timestamp token for one SHA-256 digest (a capture's WARC or a package), or the
    attempts to get one while the authority was unreachable."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", "WARC capture"
        PACKAGE = "package", "Evidence package"

    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 (hex) of what is stamped.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    token = models.BinaryField(default=b"", blank=True, help_text="The DER TimeStampResp.")
    stamped_at = models.DateTimeField(null=True, blank=True, help_text="The authority's time.")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.digest[:12]} ({'stamped' if self.token else 'missing'})"
