"""Liveness (/healthz: the process answers) and readiness (/readyz: database and broker, and the
warnings the apps register, e.g. a clinic that no critical page could reach)."""

import logging
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from config.celery_app import app as celery_app

logger = logging.getLogger(__name__)

# Warnings the apps add to /readyz's answer (AppConfig.ready): each a callable returning
# sentences. They inform; they never make the service unready. (config imports no app.)
_WARNINGS: list[Callable[[], list[str]]] = []


def register_readiness_warnings(source: Callable[[], list[str]]) -> None:
    _WARNINGS.append(source)


def _warnings() -> list[str]:
    found: list[str] = []
    for source in _WARNINGS:
        try:
            found.extend(source())
        except Exception:
            logger.warning("readiness: a warning source failed", exc_info=True)
    return found


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("readiness: database unreachable", exc_info=True)
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.warning("readiness: broker unreachable", exc_info=True)
        return False


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": "ok" if _database_ok() else "down",
        "broker": "ok" if _broker_ok() else "down",
    }
    down = [name for name, state in checks.items() if state != "ok"]
    if down:
        return JsonResponse(
            {
                "code": "not_ready",
                "message": f"Not ready: {', '.join(down)} down.",
                "checks": checks,
            },
            status=503,
        )
    body: dict[str, object] = {"status": "ok", "checks": checks}
    warnings = _warnings()
    if warnings:
        body["warnings"] = warnings
    return JsonResponse(body)
