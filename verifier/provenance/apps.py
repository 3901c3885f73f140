from django.apps import AppConfig


class ProvenanceConfig(AppConfig):
    name = "verifier.provenance"
    label = "provenance"
    verbose_name = "Provenance"
    default_auto_field = "django.db.models.BigAutoField"
