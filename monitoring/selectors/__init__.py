"""Every read in the monitoring app, scoped to the caller, one module per sub-domain. Selectors
import no services; the reads of patient data that an interface answers are audited here.
"""

from monitoring.selectors.alerts import (
    alert_get,
    alert_list,
)
from monitoring.selectors.paging import (
    clinics_without_reachable_clinician,
    paging_warnings,
)
from monitoring.selectors.records import (
    PEAK_CHECK_AFTER,
    PEAK_CHECK_WINDOW,
    adverse_event_list,
    session_chart_data,
    session_summary,
    threshold_bands,
)
from monitoring.selectors.surveys import (
    patient_outcomes,
    patient_outcomes_chart_data,
    survey_by_token,
    survey_get,
    survey_list,
    survey_open_by_token,
    survey_read,
    survey_require_open,
    survey_token_hash,
)
from monitoring.selectors.vitals import (
    latest_reading,
    reading_list,
    session_baselines,
    session_for_ingest_locked,
    session_for_vitals,
    session_readings,
)

__all__ = [
    "PEAK_CHECK_AFTER",
    "PEAK_CHECK_WINDOW",
    "adverse_event_list",
    "alert_get",
    "alert_list",
    "clinics_without_reachable_clinician",
    "latest_reading",
    "paging_warnings",
    "patient_outcomes",
    "patient_outcomes_chart_data",
    "reading_list",
    "session_baselines",
    "session_chart_data",
    "session_for_ingest_locked",
    "session_for_vitals",
    "session_readings",
    "session_summary",
    "survey_by_token",
    "survey_get",
    "survey_list",
    "survey_open_by_token",
    "survey_read",
    "survey_require_open",
    "survey_token_hash",
    "threshold_bands",
]
