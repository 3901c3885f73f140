"""Which address a request came from, trusting exactly TRUSTED_PROXIES proxies in front of the site.

Each proxy appends the address it received the request from to X-Forwarded-For; everything to the
left of what the trusted proxies wrote is whatever the client chose to send. With TRUSTED_PROXIES = 0
(the default) the header is ignored and the socket's peer is the client, so a made-up
X-Forwarded-For cannot pass for another client: not to the throttles, the login lockout or the logs.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request


def client_address(request: HttpRequest | Request) -> str:
    """The client's IP address: the one the outermost trusted proxy received the request from."""
    peer = str(request.META.get("REMOTE_ADDR", ""))
    trusted: int = settings.TRUSTED_PROXIES
    if trusted == 0:
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if not hops:
        return peer
    candidate = hops[-min(trusted, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        # Not an address: a proxy did not write it, so it cannot name the client.
        return peer
