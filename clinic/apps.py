from typing import Any

from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from clinic import checks  # noqa: F401  (registers the system checks)

        # Django's own logins (the admin) bypass our login service; these receivers give them
        # the same failed-login counting and audit trail.
        user_login_failed.connect(_login_failed, dispatch_uid="clinic.login_failed")
        user_logged_in.connect(_logged_in, dispatch_uid="clinic.logged_in")

        from clinic import selectors
        from clinic.services import CLOSURE_EXISTS
        from config.api.permissions import register_url_object
        from config.errors import Invalid, register_constraint_error

        # What a URL names is looked up in the caller's scope before their role is refused.
        register_url_object("clinic_id", selectors.clinic_get)
        register_url_object("patient_id", selectors.patient_get)
        register_url_object("protocol_id", selectors.protocol_get)
        register_url_object("closure_id", selectors.clinic_closure_get)

        # The services check these first; the database settles a race between two requests.
        for constraint, field, message in (
            (
                "chair_name_unique_in_clinic",
                "name",
                "This clinic already has a chair with this name.",
            ),
            ("protocol_name_unique_in_clinic", "name", "A protocol with this name exists."),
            ("clinic_user_username_key", "username", "This username is taken."),
            ("closure_one_per_clinic_day", "date", CLOSURE_EXISTS),
        ):
            register_constraint_error(
                constraint, code="invalid", message=message, kind=Invalid, fields={field: [message]}
            )


def _login_failed(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    from clinic.services import login_failure_record

    login_failure_record(username=str(credentials.get("username") or ""))


def _logged_in(sender: Any, user: Any, **kwargs: Any) -> None:
    from clinic.models import AuditAction
    from clinic.services import audit_record

    audit_record(actor=user, action=AuditAction.LOGIN, object_type="user", object_id=user.pk)
