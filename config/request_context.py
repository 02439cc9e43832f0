"""Who is asking, from where: set per request by middleware, read by the audit trail."""

from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest

client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)


def client_ip_of(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or the address our trusted proxies saw."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None
