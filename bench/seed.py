"""The bench's data, written in-process with Django (import after `django.setup()`).

Two clinics:
- the ward: one session per chair, each booked, checked in, given a baseline reading and
  started through the project's own services, so that the vitals API accepts readings for it
  (vitals are taken from check-in to discharge); two sessions per nurse (the clinic's
  concurrent-patient limit), one nurse per load client and one more for the abnormal readings;
- the availability clinic: 20 chairs and 10,000 bookings over the coming year, bulk-inserted
  through the ORM (the exclusion constraints still refuse any overlap per chair and per
  patient; the services would only add reminders to the outbox and take minutes).

Users are inserted through the ORM with one password hashed once (PBKDF2, Django's default):
hashing it per user would cost a second each and measure nothing.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from clinic.models import Channel, Clinic, Patient, Protocol, Role, Route, User
from clinic.services import chair_create, clinic_create, protocol_create
from monitoring.services import session_start, vital_readings_record
from scheduling.models import InfusionSession, SessionStatus
from scheduling.services import session_book, session_check_in

SESSIONS_PER_NURSE = 2
AVAILABILITY_PATIENTS = 1_000
# The availability clinic's day is five two-hour blocks from 08:00; a booking (85 minutes)
# starts in a block at :00, :15 or :30, so bookings of one chair never overlap.
BLOCK_STARTS = [time(8 + 2 * block) for block in range(5)]
BLOCK_JITTER_MINUTES = (0, 15, 30)


@dataclass(frozen=True)
class Nurse:
    username: str
    session_ids: tuple[int, ...]


@dataclass(frozen=True)
class Seeded:
    password: str
    nurses: list[Nurse]  # one per load client
    alert_nurse: Nurse  # posts the abnormal readings
    scheduler: str
    availability_clinic_id: int
    availability_protocol_id: int
    open_days: list[date]  # the availability clinic's open days in the coming year
    closed_day: date
    bookings: int
    # A real session and nurse for the floor table's foreign keys.
    floor_session_id: int
    floor_user_id: int


def normal_vitals() -> dict[str, Any]:
    return {
        "systolic": 118,
        "diastolic": 76,
        "heart_rate": 72,
        "spo2": 98,
        "respiratory_rate": 14,
        "temperature_c": Decimal("36.8"),
        "consciousness": "alert",
        "on_oxygen": False,
    }


def ward_timezone(now: datetime) -> str:
    """A fixed-offset zone in which it is mid-morning now: sessions booked "now" must fit
    the clinic's hours whatever the hour at which the bench runs. (Etc/GMT signs are
    inverted: Etc/GMT-3 is UTC+3.)"""
    offset = 10 - now.astimezone(UTC).hour
    if offset < -12:
        offset += 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def _users(clinics: list[Clinic], password_hash: str, role: str, names: list[str]) -> list[User]:
    users = User.objects.bulk_create(
        [
            User(
                username=name,
                password=password_hash,
                role=role,
                first_name=name.title(),
                last_name="Bench",
                phone=f"+1555{index:07d}",  # critical alerts page by SMS (console)
            )
            for index, name in enumerate(names, start=1)
        ]
    )
    for user in users:
        user.clinics.set(clinics)
    return users


def _protocol(admin: User, clinic: Clinic) -> Protocol:
    """IV ketamine over 40 minutes: the chair is held 85 minutes (15 prep, 30 recovery)."""
    return protocol_create(
        actor=admin,
        clinic=clinic,
        name="IV 0.5 mg/kg over 40 min",
        route=Route.IV,
        dose_mg_per_kg=Decimal("0.500"),
        infusion_minutes=40,
        prep_minutes=15,
        recovery_minutes=30,
        vitals_interval_minutes=15,
        thresholds={},
    )


def _patient(clinic: Clinic, number: int) -> Patient:
    return Patient(
        clinic=clinic,
        first_name=f"Patient{number}",
        last_name="Bench",
        date_of_birth=date(1980, 1, 1) + timedelta(days=number % 9000),
        weight_kg=Decimal("70.0") + number % 30,
        preferred_channel=Channel.SMS,
        phone=f"+1666{number:07d}",
    )


def _start_session(
    *, scheduler: User, nurse: User, patient: Patient, protocol: Protocol, chair: Any
) -> InfusionSession:
    """Book, check in, record a baseline and start: the session takes vitals from now on."""
    now = timezone.now().replace(second=0, microsecond=0)
    session = session_book(
        actor=scheduler,
        patient=patient,
        protocol=protocol,
        chair=chair,
        starts_at=now - timedelta(minutes=1),
        nurse=nurse,
    )
    session = session_check_in(
        actor=nurse, session=session, fasting_confirmed=True, escort_confirmed=True
    )
    baseline = {
        "id": uuid.uuid4(),
        "taken_at": timezone.now(),
        "device_id": "bench",
        "supersedes_id": None,
        **normal_vitals(),
    }
    vital_readings_record(actor=nurse, session_id=session.pk, readings=[baseline])
    return session_start(actor=nurse, session=session)


def seed_ward(
    *, admin: User, scheduler: User, password_hash: str, nurse_count: int
) -> tuple[list[Nurse], User]:
    clinic = clinic_create(
        actor=admin,
        name="Bench ward",
        timezone_name=ward_timezone(timezone.now()),
        opening_time=time(6, 0),
        closing_time=time(22, 0),
        open_weekdays=range(7),
    )
    # Background work the beat would otherwise start in the middle of a measurement.
    Clinic.objects.filter(pk=clinic.pk).update(survey_baseline_enabled=False)
    protocol = _protocol(admin, clinic)
    scheduler.clinics.add(clinic)
    nurses = _users(
        [clinic], password_hash, Role.NURSE, [f"nurse{n:02d}" for n in range(nurse_count)]
    )
    _users([clinic], password_hash, Role.CLINICIAN, ["clinician"])  # paged for critical alerts
    patients = Patient.objects.bulk_create(
        [_patient(clinic, n) for n in range(nurse_count * SESSIONS_PER_NURSE)]
    )
    seeded: list[Nurse] = []
    for index, nurse in enumerate(nurses):
        session_ids = []
        for seat in range(SESSIONS_PER_NURSE):
            number = index * SESSIONS_PER_NURSE + seat
            chair = chair_create(actor=admin, clinic=clinic, name=f"Chair {number + 1}")
            session = _start_session(
                scheduler=scheduler,
                nurse=nurse,
                patient=patients[number],
                protocol=protocol,
                chair=chair,
            )
            session_ids.append(session.pk)
        seeded.append(Nurse(username=nurse.username, session_ids=tuple(session_ids)))
    return seeded, nurses[0]


def _bookings_per_day(total: int, days: int) -> list[int]:
    base, extra = divmod(total, days)
    return [base + (1 if index < extra else 0) for index in range(days)]


def seed_availability(
    *, admin: User, scheduler: User, chairs: int, bookings: int, rng: random.Random
) -> tuple[Clinic, Protocol, list[date], date]:
    clinic = clinic_create(
        actor=admin,
        name="Bench availability clinic",
        timezone_name="America/New_York",
        opening_time=time(8, 0),
        closing_time=time(18, 0),
        open_weekdays=[0, 1, 2, 3, 4],
    )
    Clinic.objects.filter(pk=clinic.pk).update(survey_baseline_enabled=False)
    protocol = _protocol(admin, clinic)
    scheduler.clinics.add(clinic)
    seats = [chair_create(actor=admin, clinic=clinic, name=f"Chair {n + 1}") for n in range(chairs)]
    patients = Patient.objects.bulk_create(
        [_patient(clinic, 100_000 + n) for n in range(AVAILABILITY_PATIENTS)]
    )
    zone = ZoneInfo(clinic.timezone)
    tomorrow = timezone.now().astimezone(zone).date() + timedelta(days=1)
    year = [tomorrow + timedelta(days=n) for n in range(365)]
    open_days = [day for day in year if day.weekday() in clinic.open_weekdays]
    closed_day = next(day for day in year if day.weekday() not in clinic.open_weekdays)
    duration = timedelta(minutes=protocol.booked_minutes)
    now = timezone.now()
    rows: list[InfusionSession] = []
    patient_cursor = 0
    for day, count in zip(open_days, _bookings_per_day(bookings, len(open_days)), strict=True):
        per_chair = _bookings_per_day(count, chairs)
        for chair, held in zip(seats, per_chair, strict=True):
            for block in sorted(rng.sample(range(len(BLOCK_STARTS)), held)):
                local = datetime.combine(day, BLOCK_STARTS[block], tzinfo=zone) + timedelta(
                    minutes=rng.choice(BLOCK_JITTER_MINUTES)
                )
                # Patients taken in turn: a day's bookings (under 1,000) never share one.
                patient = patients[patient_cursor % len(patients)]
                patient_cursor += 1
                rows.append(
                    InfusionSession(
                        clinic=clinic,
                        patient=patient,
                        protocol=protocol,
                        chair=chair,
                        starts_at=local.astimezone(UTC),
                        ends_at=(local + duration).astimezone(UTC),
                        status=SessionStatus.SCHEDULED,
                        booked_by=scheduler,
                        booked_at=now,
                    )
                )
    InfusionSession.objects.bulk_create(rows, batch_size=1_000)
    return clinic, protocol, open_days, closed_day


def seed(*, concurrency: int, chairs: int, bookings: int, rng: random.Random) -> Seeded:
    password = secrets.token_urlsafe(18)
    password_hash = make_password(password)
    admin = User.objects.create(
        username="bench-admin",
        password=password_hash,
        role=Role.ADMIN,
        is_superuser=True,
        is_staff=True,
    )
    scheduler = _users([], password_hash, Role.SCHEDULER, ["scheduler"])[0]
    nurses, floor_user = seed_ward(
        admin=admin, scheduler=scheduler, password_hash=password_hash, nurse_count=concurrency + 1
    )
    clinic, protocol, open_days, closed_day = seed_availability(
        admin=admin, scheduler=scheduler, chairs=chairs, bookings=bookings, rng=rng
    )
    return Seeded(
        password=password,
        nurses=nurses[:-1],
        alert_nurse=nurses[-1],
        scheduler=scheduler.username,
        availability_clinic_id=clinic.pk,
        availability_protocol_id=protocol.pk,
        open_days=open_days,
        closed_day=closed_day,
        bookings=InfusionSession.objects.filter(clinic=clinic).count(),
        floor_session_id=nurses[0].session_ids[0],
        floor_user_id=floor_user.pk,
    )
