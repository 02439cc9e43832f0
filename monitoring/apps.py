from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.api.permissions import register_url_object
        from config.errors import register_constraint_error
        from config.health import register_readiness_warnings
        from monitoring.selectors import alert_get, survey_get
        from monitoring.selectors.paging import paging_warnings

        register_url_object("alert_id", alert_get)
        register_url_object("survey_id", survey_get)
        # "no reachable clinician for clinic X": a critical page there would reach nobody.
        register_readiness_warnings(paging_warnings)

        from monitoring.services.surveys import survey_baseline_on_booking
        from scheduling.services.booking import register_booking_hook

        # A first booking gets its baseline questionnaires at once (a patient may check in
        # seconds later); the beat sweep stays as the safety net.
        register_booking_hook(survey_baseline_on_booking)

        # Ingests of one session take turns, so a reading id can only race itself across two
        # sessions: the second to commit is told as a known id with other content would be
        # (without the id: the constraint does not say which; the tablet knows what it sent).
        register_constraint_error(
            "monitoring_vitalreading_pkey",
            code="idempotency_conflict",
            message="A reading with this id was received for another session.",
        )
