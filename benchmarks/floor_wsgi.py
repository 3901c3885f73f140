"""The server api_read.py measures: /floor answers fixed bytes, everything else is Verifier.

The floor is what the same gunicorn workers do with no framework at all: the best any endpoint of
the app could reach on this machine. FLOOR_BYTES sets its size (that of a list page).
"""

import os

from config.wsgi import application as verifier

FLOOR_BODY = b"{" + b" " * max(0, int(os.environ.get("FLOOR_BYTES", "30000")) - 2) + b"}"
FLOOR_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(FLOOR_BODY)))]


def application(environ, start_response):  # type: ignore[no-untyped-def]
    if environ.get("PATH_INFO") == "/floor":
        start_response("200 OK", FLOOR_HEADERS)
        return [FLOOR_BODY]
    return verifier(environ, start_response)
