"""One owner for a session's status (docs/architecture.md): every change goes through
scheduling's `session_lock` + `session_status_change`, which refuse to work unlocked."""

import re
from pathlib import Path

import pytest
from django.db import transaction

from scheduling.models import SessionStatus, SessionTransition
from scheduling.services import session_lock, session_status_change
from tests.conftest import REPO_ROOT
from tests.factories import PatientFactory, SessionFactory, UserFactory


@pytest.fixture
def session(clinic):
    return SessionFactory.create(patient=PatientFactory.create(clinic=clinic))


@pytest.mark.django_db
def test_a_status_change_without_the_lock_is_refused_and_changes_nothing(session) -> None:
    with pytest.raises(RuntimeError, match="without session_lock"), transaction.atomic():
        session_status_change(session, action="cancel", actor=None)
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED
    assert not SessionTransition.objects.filter(session=session).exists()


@pytest.mark.django_db
def test_the_lock_must_be_taken_for_the_same_action(session) -> None:
    with pytest.raises(RuntimeError, match="without session_lock"), transaction.atomic():
        locked = session_lock(session, "check_in")
        session_status_change(locked, action="cancel", actor=None)


@pytest.mark.django_db(transaction=True)
def test_the_lock_needs_a_transaction(session) -> None:
    with pytest.raises(RuntimeError, match="needs a transaction"):
        session_lock(session, "cancel")


@pytest.mark.django_db
def test_a_locked_change_saves_the_status_and_keeps_the_transition(session) -> None:
    actor = UserFactory.create()
    with transaction.atomic():
        locked = session_lock(session, "cancel")
        session_status_change(locked, action="cancel", actor=actor, reason="Patient unwell")
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED
    transition = SessionTransition.objects.get(session=session, action="cancel")
    assert (transition.from_status, transition.to_status, transition.reason) == (
        SessionStatus.SCHEDULED,
        SessionStatus.CANCELLED,
        "Patient unwell",
    )


def test_no_other_module_writes_a_session_status() -> None:
    """Monitoring's gates (start, stop, discharge) and scheduling's moves all call the owner;
    a `session.status = ...` or an `update(status=...)` of sessions anywhere else would bypass
    the lock check and the transition record."""
    owner = REPO_ROOT / "scheduling" / "services" / "status.py"
    writes = re.compile(
        r"\bsession\.status\s*=[^=]|InfusionSession\.objects[^\n]*\.update\([^)]*status"
    )
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for app in ("clinic", "scheduling", "monitoring", "config")
        for path in sorted(Path(REPO_ROOT, app).rglob("*.py"))
        if path != owner and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if writes.search(line)
    ]
    assert offenders == []
    assert writes.search(owner.read_text())  # the pattern finds the one write it allows
