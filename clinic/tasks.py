"""Celery tasks of the clinic app: thin, safe to run twice."""

from celery import shared_task


@shared_task
def auth_tokens_purge_expired() -> int:
    from clinic.services import auth_tokens_purge_expired as purge

    return purge()
