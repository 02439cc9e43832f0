"""Every write in the clinic app, one module per sub-domain: auth (logins, tokens), setup
(clinics, chairs, staff, protocols), closures (days or hours a clinic is shut), patients
(registration, contraindication review) and outbox (notifications). Entry points own their
transaction (durable) and audit. Re-exported here: callers say `services.auth_login`;
`audit_record` and `audit_creation` (clinic/audit.py) too, for the other apps' services.
"""

from clinic.audit import audit_creation, audit_record
from clinic.services.auth import (
    LoginResult,
    address_throttled,
    auth_login,
    auth_logout,
    auth_token_resolve,
    auth_tokens_purge_expired,
    login_failure_record,
    login_locked_out,
)
from clinic.services.closures import CLOSURE_EXISTS, clinic_closure_create
from clinic.services.outbox import (
    NOTIFICATION_BACKOFF_MAX_SECONDS,
    NOTIFICATION_BACKOFF_SECONDS,
    NOTIFICATION_MAX_ATTEMPTS,
    notification_deliver,
    notification_due_ids,
    notification_schedule,
    notifications_cancel,
    notifications_fail_abandoned,
    patient_contact,
)
from clinic.services.patients import (
    patient_contraindications_review,
    patient_create,
)
from clinic.services.setup import (
    chair_create,
    clinic_create,
    clinic_require_access,
    protocol_create,
    staff_create,
)

__all__ = [
    "CLOSURE_EXISTS",
    "NOTIFICATION_BACKOFF_MAX_SECONDS",
    "NOTIFICATION_BACKOFF_SECONDS",
    "NOTIFICATION_MAX_ATTEMPTS",
    "LoginResult",
    "address_throttled",
    "audit_creation",
    "audit_record",
    "auth_login",
    "auth_logout",
    "auth_token_resolve",
    "auth_tokens_purge_expired",
    "chair_create",
    "clinic_closure_create",
    "clinic_create",
    "clinic_require_access",
    "login_failure_record",
    "login_locked_out",
    "notification_deliver",
    "notification_due_ids",
    "notification_schedule",
    "notifications_cancel",
    "notifications_fail_abandoned",
    "patient_contact",
    "patient_contraindications_review",
    "patient_create",
    "protocol_create",
    "staff_create",
]
