"""The project's URLs plus a route named as the archive pages are (`archive-snapshot`), for tests
of the links to them; the archive pages themselves are tested where they are built."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def archived_snapshot(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    return HttpResponse(f"snapshot {snapshot_id}")


urlpatterns = [
    *project_urlpatterns,
    path("archive/<int:snapshot_id>/", archived_snapshot, name="archive-snapshot"),
]
