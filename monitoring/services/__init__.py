"""Every write in the monitoring app, one module per sub-domain: vitals (ingest, flagging),
alerts (raising, paging, escalation, missed readings), gates (start, stop, discharge) and
surveys (questionnaires). Re-exported here: callers say `services.vital_readings_record`.
"""

from monitoring.services.alerts import (
    MAX_ESCALATION_LEVEL,
    MISSED_READING_SLACK,
    alert_acknowledge,
    alerts_escalate_due,
    alerts_raise,
    missed_readings_detect,
)
from monitoring.services.gates import (
    DISCHARGE_READING_MAX_AGE,
    DischargeCheck,
    adverse_event_record,
    discharge_check,
    session_discharge,
    session_escort_confirm,
    session_start,
    session_stop,
)
from monitoring.services.surveys import (
    SURVEY_LINK_TEXT,
    SURVEY_REMINDER_AFTER,
    SURVEY_REMINDER_TEXT,
    SurveySubmission,
    followups_create,
    survey_require_open,
    survey_send,
    survey_submit,
    survey_url,
    surveys_create_baselines,
    surveys_expire_overdue,
)
from monitoring.services.vitals import (
    COMPARED_FIELDS,
    FLAG_SWEEP_GRACE,
    vital_readings_flag,
    vital_readings_flag_unflagged,
    vital_readings_record,
)

__all__ = [
    "COMPARED_FIELDS",
    "DISCHARGE_READING_MAX_AGE",
    "FLAG_SWEEP_GRACE",
    "MAX_ESCALATION_LEVEL",
    "MISSED_READING_SLACK",
    "SURVEY_LINK_TEXT",
    "SURVEY_REMINDER_AFTER",
    "SURVEY_REMINDER_TEXT",
    "DischargeCheck",
    "SurveySubmission",
    "adverse_event_record",
    "alert_acknowledge",
    "alerts_escalate_due",
    "alerts_raise",
    "discharge_check",
    "followups_create",
    "missed_readings_detect",
    "session_discharge",
    "session_escort_confirm",
    "session_start",
    "session_stop",
    "survey_require_open",
    "survey_send",
    "survey_submit",
    "survey_url",
    "surveys_create_baselines",
    "surveys_expire_overdue",
    "vital_readings_flag",
    "vital_readings_flag_unflagged",
    "vital_readings_record",
]
