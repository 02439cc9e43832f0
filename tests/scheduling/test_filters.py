"""The sessions list's date filter: a day in each session's own clinic's time zone."""

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from clinic.models import Clinic, Role, User
from scheduling import selectors
from tests.factories import ClinicFactory, PatientFactory, SessionFactory, next_weekday_at


@pytest.mark.django_db
def test_a_date_is_the_local_day_of_each_sessions_clinic(
    make_user: Callable[..., User], clinic: Clinic
) -> None:
    tokyo = ClinicFactory.create(name="Tokyo", timezone="Asia/Tokyo")
    admin = make_user(role=Role.ADMIN, clinics=[clinic, tokyo])
    new_york_9am = next_weekday_at(9)
    day = new_york_9am.date()
    # 23:00 in New York is that day in New York; 23:30 there is the next day in Tokyo, so a Tokyo
    # session then is not; 09:00 in Tokyo is that day in Tokyo (the day before in New York).
    late_in_new_york = SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic), starts_at=new_york_9am.replace(hour=23)
    )
    tokyo_morning = SessionFactory.create(
        patient=PatientFactory.create(clinic=tokyo),
        starts_at=datetime.combine(day, new_york_9am.time(), tzinfo=tokyo.zone),
    )
    SessionFactory.create(
        patient=PatientFactory.create(clinic=tokyo),
        starts_at=late_in_new_york.starts_at + timedelta(minutes=30),
    )

    found = selectors.session_list(user=admin, filters={"date": day})

    assert set(found) == {late_in_new_york, tokyo_morning}
