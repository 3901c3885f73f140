from django.apps import AppConfig


class VerifierConfig(AppConfig):
    name = "verifier"
    verbose_name = "Verdicts and review"

    def ready(self) -> None:
        from verifier.http_cache import watch_reference_data

        watch_reference_data()
