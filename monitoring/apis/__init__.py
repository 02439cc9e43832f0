"""HTTP API of the monitoring app, one module per sub-domain: vitals, alerts, the clinical gates,
the session's record (summary, chart) and questionnaires. urls.py names the views from here.
"""

from monitoring.apis.alerts import (
    AlertAcknowledgeApi,
    AlertListApi,
)
from monitoring.apis.gates import (
    SessionAdverseEventsApi,
    SessionConfirmEscortApi,
    SessionDischargeApi,
    SessionStartApi,
    SessionStopApi,
)
from monitoring.apis.records import (
    SessionChartApi,
    SessionSummaryApi,
)
from monitoring.apis.surveys import (
    InstrumentListApi,
    PatientOutcomesApi,
    PatientOutcomesChartApi,
    PublicSurveyApi,
    SurveyDetailApi,
    SurveyListApi,
)
from monitoring.apis.vitals import (
    SessionVitalsApi,
    VitalReadingInputSerializer,
    VitalReadingOutputSerializer,
    plain_reading,
    readings_given,
    readings_json,
)

__all__ = [
    "AlertAcknowledgeApi",
    "AlertListApi",
    "InstrumentListApi",
    "PatientOutcomesApi",
    "PatientOutcomesChartApi",
    "PublicSurveyApi",
    "SessionAdverseEventsApi",
    "SessionChartApi",
    "SessionConfirmEscortApi",
    "SessionDischargeApi",
    "SessionStartApi",
    "SessionStopApi",
    "SessionSummaryApi",
    "SessionVitalsApi",
    "SurveyDetailApi",
    "SurveyListApi",
    "VitalReadingInputSerializer",
    "VitalReadingOutputSerializer",
    "plain_reading",
    "readings_given",
    "readings_json",
]
