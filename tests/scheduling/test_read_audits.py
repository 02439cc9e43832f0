"""Reads of sessions are audited by the selectors that answer them; session_get, which the
permission class calls before refusing a role, is not."""

from collections.abc import Callable

import pytest

from clinic.models import AuditEvent, Clinic, Role, User
from scheduling import selectors
from tests.factories import PatientFactory, SessionFactory, next_weekday_at


def reads() -> list[tuple[str, str, int | None]]:
    return list(
        AuditEvent.objects.filter(action="read")
        .order_by("pk")
        .values_list("object_type", "object_id", "patient_id")
    )


@pytest.mark.django_db
def test_looking_a_session_up_is_not_a_read_and_reading_is(
    make_user: Callable[..., User], clinic: Clinic
) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])
    session = SessionFactory.create(patient=PatientFactory.create(clinic=clinic))

    selectors.session_get(user=nurse, session_id=session.pk)
    assert reads() == []

    selectors.session_read(user=nurse, session_id=session.pk)
    assert reads() == [("session", str(session.pk), session.patient_id)]


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
    assert reads() == [("session", str(page[0].pk), patient.pk)]

    shown, sessions = selectors.patient_calendar_read(user=nurse, patient_id=patient.pk)
    assert (shown, sessions) == (patient, [earlier, later])
    assert reads()[1:] == [("patient_calendar", str(patient.pk), patient.pk)]
