"""Login, bearer tokens, expiry, logout and failed-login lockout (API.md "Auth")."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import AuditEvent, AuthToken, LoginFailure, Role
from tests.factories import TEST_PASSWORD

LOGIN = "/api/v1/auth/login/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/clinics/"  # any endpoint every staff role may read


def login(client: APIClient, username: str, password: str = TEST_PASSWORD, ip: str = "10.0.0.1"):
    return client.post(
        LOGIN, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip
    )


@pytest.mark.django_db
def test_login_returns_a_token_its_expiry_and_the_user(make_user, clinic) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])
    response = login(APIClient(), nurse.username)
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"token", "expires_at", "user"}
    assert body["user"] == {"id": nurse.pk, "username": nurse.username, "role": "nurse"}
    assert len(body["token"]) >= 40

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert client.get(ME).status_code == 200


@pytest.mark.django_db
def test_the_token_is_stored_hashed(make_user, clinic) -> None:
    nurse = make_user(clinics=[clinic])
    token = login(APIClient(), nurse.username).json()["token"]
    stored = AuthToken.objects.get(user=nurse)
    assert stored.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not AuthToken.objects.filter(key_hash=token).exists()


@pytest.mark.django_db
def test_a_superuser_logs_in_as_admin(make_user) -> None:
    root = make_user(role=Role.NURSE, is_superuser=True)
    assert login(APIClient(), root.username).json()["user"]["role"] == "admin"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"username": "nobody", "password": "whatever-else"},
        {"username": "", "password": ""},
    ],
)
def test_wrong_credentials_are_401_or_400(payload) -> None:
    response = APIClient().post(LOGIN, payload, format="json")
    assert response.status_code in (400, 401)
    assert response.json()["code"] in ("invalid", "invalid_credentials")


@pytest.mark.django_db
def test_a_wrong_password_is_401_and_recorded(make_user, clinic) -> None:
    nurse = make_user(clinics=[clinic])
    response = login(APIClient(), nurse.username, password="not-the-password")
    assert response.status_code == 401
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "The username or password is wrong.",
    }
    assert LoginFailure.objects.filter(username=nurse.username).count() == 1
    assert AuditEvent.objects.filter(action="login_failed", actor=nurse).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer a b", "Bearer not-a-real-token", "Bearer caf\u00e9"]
)
def test_bad_bearer_headers_are_401(header) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_no_token_is_401() -> None:
    response = APIClient().get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_logout_revokes_the_token(api_as) -> None:
    client = api_as("nurse")
    assert client.post(LOGOUT).status_code == 204
    assert client.get(ME).status_code == 401
    assert AuditEvent.objects.filter(action="logout", actor=client.user).exists()


@pytest.mark.django_db
def test_a_token_expires_after_the_idle_period(api_as, settings) -> None:
    settings.AUTH_TOKEN_IDLE_TIMEOUT = timedelta(minutes=30)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = api_as("nurse")
        clock.shift(timedelta(minutes=20))
        assert client.get(ME).status_code == 200  # use refreshes the idle clock
        clock.shift(timedelta(minutes=20))
        assert client.get(ME).status_code == 200
        clock.shift(timedelta(minutes=31))
        assert client.get(ME).status_code == 401


@pytest.mark.django_db
def test_a_token_expires_after_its_lifetime_however_busy(api_as, settings) -> None:
    settings.AUTH_TOKEN_IDLE_TIMEOUT = timedelta(minutes=30)
    settings.AUTH_TOKEN_LIFETIME = timedelta(hours=2)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = api_as("nurse")
        for _ in range(7):  # busy every 17 minutes: never idle
            clock.shift(timedelta(minutes=17))
            assert client.get(ME).status_code == 200
        clock.shift(timedelta(minutes=2))  # 2 h 1 min after login
        assert client.get(ME).status_code == 401


@pytest.mark.django_db
def test_an_inactive_users_token_stops_working(api_as) -> None:
    client = api_as("nurse")
    client.user.is_active = False
    client.user.save()
    assert client.get(ME).status_code == 401


@pytest.mark.django_db
def test_failed_logins_lock_the_username_even_with_the_right_password(
    make_user, clinic, settings
) -> None:
    settings.LOGIN_MAX_FAILURES_PER_USERNAME = 5
    nurse = make_user(clinics=[clinic])
    client = APIClient()
    for attempt in range(5):
        assert login(client, nurse.username, "wrong", ip=f"10.0.1.{attempt}").status_code == 401
    response = login(client, nurse.username, ip="10.0.2.1")
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_failed_logins"
    # After the window has passed, the right password works again.
    with time_machine.travel(timezone.now() + settings.LOGIN_FAILURE_WINDOW + timedelta(seconds=1)):
        assert login(client, nurse.username).status_code == 200


@pytest.mark.django_db
def test_failed_logins_throttle_the_address_but_not_successful_logins(
    make_user, clinic, settings
) -> None:
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 10
    nurse = make_user(clinics=[clinic])
    client = APIClient()
    for attempt in range(10):
        assert login(client, f"guess{attempt}", "wrong", ip="10.9.9.9").status_code == 401
    # The address is throttled: its failures are refused with 429 ...
    assert login(client, "guess-more", "wrong", ip="10.9.9.9").status_code == 429
    # ... but a clinic behind that one address keeps logging in (API.md).
    assert login(client, nurse.username, ip="10.9.9.9").status_code == 200


@pytest.mark.django_db
def test_successful_logins_are_not_limited_below_60_a_minute(make_user, clinic) -> None:
    nurse = make_user(clinics=[clinic])
    client = APIClient()
    with time_machine.travel(timezone.now(), tick=False):
        statuses = {login(client, nurse.username, ip="10.1.1.1").status_code for _ in range(61)}
    assert statuses == {200}


@pytest.mark.django_db
def test_expired_tokens_are_purged(api_as) -> None:
    from clinic.services import auth_tokens_purge_expired

    client = api_as("nurse")
    assert auth_tokens_purge_expired() == 0
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert auth_tokens_purge_expired() == 1
    assert client.get(ME).status_code == 401
