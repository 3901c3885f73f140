import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# isort: split
# The response cache's layer answers what it can before Django's handler runs; it imports models,
# so only once Django is set up.
django_application = get_wsgi_application()

from verifier.api.http_cache import PublicCacheApplication  # noqa: E402

application = PublicCacheApplication(django_application)
