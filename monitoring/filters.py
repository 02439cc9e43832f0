"""What the monitoring lists' filters mean (see clinic/filters.py for how filters flow)."""

import django_filters

from clinic.filters import IdFilter
from monitoring import instruments
from monitoring.models import AlertParameter, AlertStatus, Severity, SurveyStatus


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)
    session = IdFilter(field_name="session_id")
    patient = IdFilter(field_name="patient_id")
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    parameter = django_filters.ChoiceFilter(choices=AlertParameter.choices)


class SurveyFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    status = django_filters.ChoiceFilter(choices=SurveyStatus.choices)
    instrument = django_filters.ChoiceFilter(
        choices=[(code, code) for code in sorted(instruments.INSTRUMENTS)]
    )
