from django.apps import AppConfig


class VerifierConfig(AppConfig):
    name = "verifier"
    verbose_name = "Verdicts and review"

    def ready(self) -> None:
        # Imported once the models are loaded: the module connects signals to them.
        from verifier.public_content import watch_reference_data

        watch_reference_data()
