"""Celery tasks of the monitoring app: thin, safe to run twice. Arguments are ids only."""

from celery import shared_task


@shared_task
def vital_readings_flag(reading_ids: list[str]) -> int:
    from monitoring.services import vital_readings_flag as flag

    return flag(reading_ids=reading_ids)


@shared_task
def vital_readings_flag_unflagged() -> int:
    from monitoring.services import vital_readings_flag_unflagged as sweep

    return sweep()


@shared_task
def alerts_escalate_due() -> int:
    from monitoring.services import alerts_escalate_due as escalate

    return escalate()


@shared_task
def missed_readings_detect() -> int:
    from monitoring.services import missed_readings_detect as detect

    return detect()


@shared_task
def surveys_create_baselines() -> int:
    from monitoring.services import surveys_create_baselines as create

    return create()


@shared_task
def surveys_expire_overdue() -> int:
    from monitoring.services import surveys_expire_overdue as expire

    return expire()
