"""System checks for settings that only make sense together."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def notification_claim_outlasts_a_task(**kwargs: Any) -> list[Error]:
    """A live worker must not lose its claim on a message while it is still sending it, or a
    second worker could send the same message again."""
    if settings.NOTIFICATION_CLAIM_SECONDS > settings.CELERY_TASK_TIME_LIMIT:
        return []
    return [
        Error(
            "NOTIFICATION_CLAIM_SECONDS must be longer than CELERY_TASK_TIME_LIMIT.",
            hint="A message could be sent twice by two workers.",
            id="clinic.E001",
        )
    ]
