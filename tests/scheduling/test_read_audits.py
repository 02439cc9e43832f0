"""Reads of sessions are audited by the selectors that answer them; session_get, which the
permission class calls before refusing a role, is not."""

from collections.abc import Callable

import pytest

from clinic.models import Clinic, Role, User
from scheduling import selectors
from tests.conftest import audited_reads
from tests.factories import PatientFactory, SessionFactory, next_weekday_at


@pytest.mark.django_db
def test_looking_a_session_up_is_not_a_read_and_reading_is(
    make_user: Callable[..., User], clinic: Clinic
) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])
    session = SessionFactory.create(patient=PatientFactory.create(clinic=clinic))

    selectors.session_get(user=nurse, session_id=session.pk)
    assert audited_reads() == []

    selectors.session_read(user=nurse, session_id=session.pk)
    assert audited_reads() == [("session", str(session.pk), session.patient_id)]


@pytest.mark.django_db
def test_a_page_of_sessions_audits_its_rows_and_the_calendar_its_patient(
    make_user: Callable[..., User], clinic: Clinic
) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])
    patient = PatientFactory.create(clinic=clinic)
    later = SessionFactory.create(patient=patient, starts_at=next_weekday_at(13))
    earlier = SessionFactory.create(patient=patient, starts_at=next_weekday_at(9))

    page = selectors.session_page_read(
        user=nurse, filters={"patient": patient.pk}, cut=lambda queryset: list(queryset[:1])
    )
    assert audited_reads() == [("session", str(page[0].pk), patient.pk)]

    shown, sessions = selectors.patient_calendar_read(user=nurse, patient_id=patient.pk)
    assert (shown, sessions) == (patient, [earlier, later])
    assert audited_reads()[1:] == [("patient_calendar", str(patient.pk), patient.pk)]
