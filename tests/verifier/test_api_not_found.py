"""Every path under /api/ answers errors in JSON, also where no route matches (issue 11, point 7)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/claims/abc/"),
        ("delete", "/api/v1/claims/abc/"),
        ("get", "/api/v1/sources/abc/"),
        ("get", "/api/v1/nothing-here/"),
        ("post", "/api/v2/claims/"),
        ("get", "/api/"),
    ],
)
def test_an_unknown_api_path_or_id_is_a_json_404(client, method, path):
    response = getattr(client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_method_an_api_path_does_not_take_is_a_json_405(client):
    response = client.delete("/api/v1/claims/")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": 'Method "DELETE" not allowed.'}


def test_outside_the_api_a_missing_page_is_still_html(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
