from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.api.permissions import register_url_object
        from config.errors import register_constraint_error
        from scheduling.selectors import series_get, session_get

        register_url_object("session_id", session_get)
        register_url_object("series_id", series_get)

        # The database is the last word on double booking: a race that slips past the
        # services' checks ends here, as a 409 that names what conflicted.
        register_constraint_error(
            "session_chair_no_overlap",
            code="slot_conflict",
            message="The chair is already booked at that time.",
            extra={"conflict": "chair"},
        )
        register_constraint_error(
            "session_patient_no_overlap",
            code="slot_conflict",
            message="The patient already has a session at that time.",
            extra={"conflict": "patient"},
        )
