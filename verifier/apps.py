from django.apps import AppConfig


class VerifierConfig(AppConfig):
    name = "verifier"
    verbose_name = "Verdicts and review"

    def ready(self) -> None:
        # Imported once the models are loaded: the module connects receivers to them.
        from verifier.public_content import public_content_watch

        public_content_watch()
