"""HTTP API of the clinic app, one module per sub-domain: parse input, call a service or
selector, serialize output. Re-exported here: urls.py says `apis.PatientListApi`, and the other
apps' APIs import `caller` and the role sets.
"""

from clinic.apis.auth import (
    LoginApi,
    LoginInputSerializer,
    LoginOutputSerializer,
    LoginUserSerializer,
    LogoutApi,
)
from clinic.apis.closures import (
    ClinicClosureInputSerializer,
    ClinicClosureListApi,
    ClinicClosureOutputSerializer,
)
from clinic.apis.common import (
    ALL_STAFF,
    EVERYONE,
    ListApi,
    ListPage,
    caller,
)
from clinic.apis.patients import (
    PatientContraindicationsReviewApi,
    PatientDetailApi,
    PatientFilterSerializer,
    PatientInputSerializer,
    PatientListApi,
    PatientOutputSerializer,
)
from clinic.apis.records import (
    AuditEventFilterSerializer,
    AuditEventListApi,
    AuditEventOutputSerializer,
    NotificationFilterSerializer,
    NotificationListApi,
    NotificationOutputSerializer,
)
from clinic.apis.setup import (
    ChairFilterSerializer,
    ChairInputSerializer,
    ChairListApi,
    ChairOutputSerializer,
    ClinicDetailApi,
    ClinicInputSerializer,
    ClinicListApi,
    ClinicOutputSerializer,
    ProtocolDetailApi,
    ProtocolInputSerializer,
    ProtocolListApi,
    ProtocolOutputSerializer,
    StaffInputSerializer,
    StaffListApi,
    StaffOutputSerializer,
)

__all__ = [
    "ALL_STAFF",
    "EVERYONE",
    "AuditEventFilterSerializer",
    "AuditEventListApi",
    "AuditEventOutputSerializer",
    "ChairFilterSerializer",
    "ChairInputSerializer",
    "ChairListApi",
    "ChairOutputSerializer",
    "ClinicClosureInputSerializer",
    "ClinicClosureListApi",
    "ClinicClosureOutputSerializer",
    "ClinicDetailApi",
    "ClinicInputSerializer",
    "ClinicListApi",
    "ClinicOutputSerializer",
    "ListApi",
    "ListPage",
    "LoginApi",
    "LoginInputSerializer",
    "LoginOutputSerializer",
    "LoginUserSerializer",
    "LogoutApi",
    "NotificationFilterSerializer",
    "NotificationListApi",
    "NotificationOutputSerializer",
    "PatientContraindicationsReviewApi",
    "PatientDetailApi",
    "PatientFilterSerializer",
    "PatientInputSerializer",
    "PatientListApi",
    "PatientOutputSerializer",
    "ProtocolDetailApi",
    "ProtocolInputSerializer",
    "ProtocolListApi",
    "ProtocolOutputSerializer",
    "StaffInputSerializer",
    "StaffListApi",
    "StaffOutputSerializer",
    "caller",
]
