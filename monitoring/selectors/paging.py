"""Who can be paged: a clinic whose clinicians have no phone or e-mail would page nobody for a
critical alert. Said out loud (the alerts list, /readyz), not discovered when it matters."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from clinic.models import Clinic, Role, User


def clinics_without_reachable_clinician(clinics: Iterable[Clinic] | None = None) -> list[Clinic]:
    """The clinics (of `clinics`, or all) with no active clinician who has a phone or an e-mail.
    One query."""
    with_one = (
        User.objects.filter(role=Role.CLINICIAN, is_active=True, clinics__isnull=False)
        .exclude(Q(phone="") & Q(email=""))
        .values("clinics")
    )
    candidates = (
        Clinic.objects.all()
        if clinics is None
        else Clinic.objects.filter(pk__in=[clinic.pk for clinic in clinics])
    )
    return list(candidates.exclude(pk__in=with_one).order_by("name", "pk"))


def paging_warnings(clinics: Iterable[Clinic] | None = None) -> list[str]:
    return [
        f"no reachable clinician for clinic {clinic.name}"
        for clinic in clinics_without_reachable_clinician(clinics)
    ]
