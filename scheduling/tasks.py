"""Celery tasks of the scheduling app: thin, safe to run twice."""

from celery import shared_task


@shared_task
def sessions_mark_no_shows() -> int:
    from scheduling.services import sessions_mark_no_shows as mark

    return mark()
