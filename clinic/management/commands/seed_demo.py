"""Seed a demo clinic (idempotent): `manage.py seed_demo`. Never run against real data:
`make run` calls it only on the embedded database or with DEMO_SEED=1."""

from datetime import date, time
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from clinic.models import Chair, Channel, Clinic, Patient, Protocol, Role, Route, User

DEMO_PASSWORD = "demo"  # noqa: S105 - the demo's published password (README)
DEMO_USERS = [
    ("admin", Role.ADMIN, "Ada", "Admin"),
    ("scheduler", Role.SCHEDULER, "Sam", "Scheduler"),
    ("nurse", Role.NURSE, "Nia", "Nurse"),
    ("clinician", Role.CLINICIAN, "Carl", "Clinician"),
]
DEMO_PATIENTS = [
    ("Alex", "Rivera", date(1985, 4, 12), Decimal("72.5"), Channel.SMS, "+15551230001", ""),
    (
        "Jordan",
        "Lee",
        date(1979, 11, 3),
        Decimal("88.0"),
        Channel.EMAIL,
        "",
        "jordan.lee@example.com",
    ),
    ("Morgan", "Patel", date(1992, 7, 21), Decimal("61.2"), Channel.SMS, "+15551230003", ""),
]


class Command(BaseCommand):
    help = "Create the demo clinic, chairs, protocols, patients and users (password 'demo')."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        clinic, _ = Clinic.objects.get_or_create(
            name="Demo Infusion Clinic",
            defaults={
                "timezone": "America/New_York",
                "opening_time": time(8, 0),
                "closing_time": time(18, 0),
                "open_weekdays": [0, 1, 2, 3, 4],
            },
        )
        for number in range(1, 5):
            Chair.objects.get_or_create(clinic=clinic, name=f"Chair {number}")
        Protocol.objects.get_or_create(
            clinic=clinic,
            name="IV ketamine 0.5 mg/kg over 40 min",
            defaults={
                "route": Route.IV,
                "dose_mg_per_kg": Decimal("0.500"),
                "infusion_minutes": 40,
            },
        )
        Protocol.objects.get_or_create(
            clinic=clinic,
            name="IV ketamine 0.75 mg/kg over 60 min",
            defaults={
                "route": Route.IV,
                "dose_mg_per_kg": Decimal("0.750"),
                "infusion_minutes": 60,
            },
        )
        for first, last, born, weight, channel, phone, email in DEMO_PATIENTS:
            Patient.objects.get_or_create(
                clinic=clinic,
                first_name=first,
                last_name=last,
                defaults={
                    "date_of_birth": born,
                    "weight_kg": weight,
                    "preferred_channel": channel,
                    "phone": phone,
                    "email": email,
                },
            )
        for username, role, first, last in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "role": role,
                    "first_name": first,
                    "last_name": last,
                    "is_staff": role == Role.ADMIN,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)  # demo only: bypasses the password validators
                user.save()
            if not user.email and not user.phone:
                # A page must reach someone: with the default console e-mail backend, critical
                # alerts are printed in `make run`'s log (an older demo database gets them too).
                user.email = f"{username}@demo.invalid"
                user.save(update_fields=["email"])
            user.clinics.add(clinic)
        self.stdout.write(
            "Demo clinic ready. Log in as admin, scheduler, nurse or clinician, password 'demo'."
        )
