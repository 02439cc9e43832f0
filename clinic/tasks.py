"""Celery tasks of the clinic app: thin, safe to run twice."""

from celery import shared_task


@shared_task
def auth_tokens_purge_expired() -> int:
    from clinic.services import auth_tokens_purge_expired as purge

    return purge()


@shared_task
def notifications_deliver_due() -> int:
    """Beat sweep: hand every due message to a delivery task."""
    from clinic.services import notification_due_ids, notifications_fail_abandoned

    notifications_fail_abandoned()
    due = notification_due_ids()
    for notification_id in due:
        notification_deliver.delay(notification_id)
    return len(due)


@shared_task
def notification_deliver(notification_id: int) -> str:
    from clinic.services import notification_deliver as deliver

    return deliver(notification_id=notification_id)
