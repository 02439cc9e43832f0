"""factory_boy factories for every model the tests build."""

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import factory
from django.utils import timezone

from clinic.models import Chair, Channel, Clinic, Patient, Protocol, Role, Route, User
from scheduling.models import InfusionSession, SessionStatus

TEST_PASSWORD = "correct-horse-battery-staple"


class ClinicFactory(factory.django.DjangoModelFactory[Clinic]):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Clinic {n}")
    timezone = "America/New_York"
    opening_time = time(8, 0)
    closing_time = time(18, 0)
    open_weekdays = factory.LazyFunction(lambda: [0, 1, 2, 3, 4])


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.NURSE
    first_name = "Pat"
    last_name = "Staff"
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def clinics(obj: User, create: bool, extracted: list[Clinic] | None, **kwargs: object) -> None:
        if create and extracted:
            obj.clinics.set(extracted)
        obj.save()


class ChairFactory(factory.django.DjangoModelFactory[Chair]):
    class Meta:
        model = Chair

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Chair {n}")


class PatientFactory(factory.django.DjangoModelFactory[Patient]):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    date_of_birth = date(1980, 1, 1)
    weight_kg = Decimal("70.0")
    phone = "+15551234567"
    email = factory.Sequence(lambda n: f"patient{n}@example.com")
    preferred_channel = Channel.SMS


class ProtocolFactory(factory.django.DjangoModelFactory[Protocol]):
    class Meta:
        model = Protocol

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"IV ketamine {n}")
    route = Route.IV
    dose_mg_per_kg = Decimal("0.500")
    infusion_minutes = 40
    prep_minutes = 15
    recovery_minutes = 30
    vitals_interval_minutes = 15


def next_weekday_at(
    hour: int, minute: int = 0, *, zone: str = "America/New_York", days_ahead: int = 7
) -> datetime:
    """An aware datetime on the first Monday at least `days_ahead` days from now, local time."""
    day = timezone.now().astimezone(ZoneInfo(zone)).date() + timedelta(days=days_ahead)
    while day.weekday() != 0:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))


class SessionFactory(factory.django.DjangoModelFactory[InfusionSession]):
    """A booked session (built straight into the database: tests of booking use the service)."""

    class Meta:
        model = InfusionSession

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.LazyAttribute(lambda session: session.patient.clinic)
    chair = factory.LazyAttribute(lambda session: ChairFactory.create(clinic=session.clinic))
    protocol = factory.LazyAttribute(lambda session: ProtocolFactory.create(clinic=session.clinic))
    booked_by = factory.LazyAttribute(lambda session: UserFactory.create(role=Role.SCHEDULER))
    starts_at = factory.LazyFunction(lambda: next_weekday_at(9))
    ends_at = factory.LazyAttribute(
        lambda session: session.starts_at + timedelta(minutes=session.protocol.booked_minutes)
    )


def checked_in_session(*, clinic: Clinic, nurse: User) -> InfusionSession:
    """A session checked in five minutes ago, ready for vitals (70 kg patient, 71.5 kg today)."""
    now = timezone.now()
    session: InfusionSession = SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic, weight_kg=Decimal("70.0")),
        starts_at=now + timedelta(minutes=10),
        nurse=nurse,
        status=SessionStatus.CHECKED_IN,
        checked_in_at=now - timedelta(minutes=5),
        fasting_confirmed=True,
        escort_confirmed=True,
        weight_kg=Decimal("71.5"),
    )
    return session


def reading(**values: Any) -> dict[str, Any]:
    """A normal reading (nothing flagged) as the API takes it, with `values` changed; taken a
    minute ago."""
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "taken_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        "systolic": 120,
        "diastolic": 80,
        "heart_rate": 72,
        "spo2": 98,
        "respiratory_rate": 14,
        "temperature_c": "36.8",
        "consciousness": "alert",
        "on_oxygen": False,
    }
    base.update(values)
    return {k: v for k, v in base.items() if v is not ...}
