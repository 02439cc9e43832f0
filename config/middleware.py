"""Request-wide plumbing: body size limit and the request context used by the audit trail."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from config.request_context import client_ip, client_ip_of


class RequestSizeLimitMiddleware:
    """Refuse over-large bodies before anything reads them (DRF's JSON parser reads the raw
    stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE alone does not cover it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return JsonResponse(
                {"code": "bad_request", "message": "Content-Length is not a number."}, status=400
            )
        if length > settings.REQUEST_MAX_BYTES:
            return JsonResponse(
                {
                    "code": "payload_too_large",
                    "message": f"The body is larger than {settings.REQUEST_MAX_BYTES} bytes.",
                },
                status=413,
            )
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Give every HTML response settings.CONTENT_SECURITY_POLICY unless it set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = client_ip.set(client_ip_of(request))
        try:
            return self.get_response(request)
        finally:
            client_ip.reset(token)
