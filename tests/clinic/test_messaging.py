"""Message transports: what each SMS backend sends or records, which failures are retryable,
that no personal data reaches a log line or an error message, and e-mail with a calendar."""

import base64
import json
import logging
import smtplib
from email import message_from_bytes
from urllib.parse import parse_qs

import httpx
import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from clinic.messaging import (
    ConsoleSmsBackend,
    DeliveryError,
    FileSmsBackend,
    InMemorySmsBackend,
    SentSms,
    TwilioSmsBackend,
    get_sms_backend,
    mask_phone_number,
    send_email,
)

PHONE = "+15551234567"
BODY = "Reminder: your infusion is tomorrow at 09:00"
SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token"
FROM_NUMBER = "+15550001111"
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"


def twilio(handler) -> TwilioSmsBackend:
    return TwilioSmsBackend(SID, TOKEN, FROM_NUMBER, transport=httpx.MockTransport(handler))


def answering(status: int, payload: object):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=payload)

    return handler


def assert_no_personal_data(text: str) -> None:
    assert PHONE not in text and PHONE.lstrip("+") not in text
    assert BODY not in text


# --- Twilio -----------------------------------------------------------------------------------


def test_twilio_posts_the_message_form_with_basic_auth_and_returns_the_sid() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(201, json={"sid": "SM123", "status": "queued"})

    assert twilio(handler).send(to=PHONE, body=BODY, reference="ref-1") == "SM123"

    [request] = requests
    assert request.method == "POST"
    assert str(request.url) == MESSAGES_URL
    expected_auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected_auth}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "To": [PHONE],
        "From": [FROM_NUMBER],
        "Body": [BODY],
    }


def test_twilio_honours_a_custom_base_url() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(201, json={"sid": "SM1"})

    backend = TwilioSmsBackend(
        SID,
        TOKEN,
        FROM_NUMBER,
        transport=httpx.MockTransport(handler),
        base_url="http://twilio.test/",
    )
    backend.send(to=PHONE, body=BODY, reference="ref")
    assert seen == [f"http://twilio.test/2010-04-01/Accounts/{SID}/Messages.json"]


def test_an_invalid_number_is_a_permanent_failure_without_personal_data() -> None:
    handler = answering(
        400,
        {
            "code": 21211,
            "message": f"The 'To' number {PHONE} is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
    )
    with pytest.raises(DeliveryError) as caught:
        twilio(handler).send(to=PHONE, body=BODY, reference="ref")
    assert caught.value.retryable is False
    assert "400" in str(caught.value) and "21211" in str(caught.value)
    assert_no_personal_data(str(caught.value))


def test_a_4xx_without_a_json_body_still_fails_cleanly() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text="<html>Unauthorized</html>")

    with pytest.raises(DeliveryError) as caught:
        twilio(handler).send(to=PHONE, body=BODY, reference="ref")
    assert caught.value.retryable is False
    assert str(caught.value) == "Twilio rejected the message: HTTP 401"


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
        (500, {"code": 20500, "message": "Internal Server Error", "status": 500}),
        (503, {"code": 20503, "message": "Service Unavailable", "status": 503}),
    ],
)
def test_rate_limits_and_server_errors_are_retryable(status, payload) -> None:
    with pytest.raises(DeliveryError) as caught:
        twilio(answering(status, payload)).send(to=PHONE, body=BODY, reference="ref")
    assert caught.value.retryable is True
    assert str(status) in str(caught.value)
    assert_no_personal_data(str(caught.value))


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out")]
)
def test_network_errors_and_timeouts_are_retryable(error) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(DeliveryError) as caught:
        twilio(handler).send(to=PHONE, body=BODY, reference="ref")
    assert caught.value.retryable is True
    assert type(error).__name__ in str(caught.value)
    assert_no_personal_data(str(caught.value))


def test_a_success_without_a_sid_is_not_retried() -> None:
    # Twilio accepted something: sending again could text the patient twice.
    with pytest.raises(DeliveryError) as caught:
        twilio(answering(201, {"status": "queued"})).send(to=PHONE, body=BODY, reference="ref")
    assert caught.value.retryable is False


# --- Console, in-memory and file backends ----------------------------------------------------


def test_mask_phone_number_keeps_only_the_last_two_digits() -> None:
    assert mask_phone_number(PHONE) == "+*********67"
    assert mask_phone_number("07700900123") == "*********23"
    assert mask_phone_number("12") == "**"


def test_the_console_backend_logs_no_personal_data(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="clinic.messaging"):
        message_id = ConsoleSmsBackend().send(to=PHONE, body=BODY, reference="session:7:reminder")

    assert message_id.startswith("console-") and len(message_id) == len("console-") + 32
    [record] = caplog.records
    assert record.levelno == logging.INFO
    line = record.getMessage()
    assert "session:7:reminder" in line
    assert "+*********67" in line
    assert f"body_length={len(BODY)}" in line
    assert_no_personal_data(caplog.text)


@pytest.fixture
def memory_outbox():
    InMemorySmsBackend.outbox.clear()
    yield InMemorySmsBackend.outbox
    InMemorySmsBackend.outbox.clear()


def test_the_in_memory_backend_records_messages(memory_outbox) -> None:
    backend = InMemorySmsBackend()
    assert backend.send(to=PHONE, body=BODY, reference="a") == "memory-1"
    assert InMemorySmsBackend().send(to="+15550000000", body="Hi", reference="b") == "memory-2"
    assert memory_outbox == [
        SentSms(to=PHONE, body=BODY, reference="a", message_id="memory-1"),
        SentSms(to="+15550000000", body="Hi", reference="b", message_id="memory-2"),
    ]


def test_the_file_backend_appends_one_json_line_per_message(settings, tmp_path) -> None:
    path = tmp_path / "not" / "yet" / "there" / "sms.jsonl"
    settings.SMS_FILE_PATH = str(path)
    first = FileSmsBackend().send(to=PHONE, body=BODY, reference="a")
    second = FileSmsBackend().send(to="+15550000000", body="Line one\nline two", reference="b")

    assert first.startswith("file-") and second.startswith("file-") and first != second
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"to": PHONE, "body": BODY, "reference": "a", "message_id": first},
        {
            "to": "+15550000000",
            "body": "Line one\nline two",
            "reference": "b",
            "message_id": second,
        },
    ]


@pytest.mark.parametrize(
    ("dotted_path", "backend_class"),
    [
        ("clinic.messaging.ConsoleSmsBackend", ConsoleSmsBackend),
        ("clinic.messaging.InMemorySmsBackend", InMemorySmsBackend),
        ("clinic.messaging.FileSmsBackend", FileSmsBackend),
    ],
)
def test_get_sms_backend_builds_the_configured_backend(
    settings, dotted_path, backend_class
) -> None:
    settings.SMS_BACKEND = dotted_path
    assert type(get_sms_backend()) is backend_class


def test_get_sms_backend_gives_twilio_its_credentials(settings) -> None:
    settings.SMS_BACKEND = "clinic.messaging.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    backend = get_sms_backend()
    assert isinstance(backend, TwilioSmsBackend)
    assert (backend.account_sid, backend.auth_token, backend.from_number) == (
        SID,
        TOKEN,
        FROM_NUMBER,
    )
    assert backend.url == MESSAGES_URL


def test_get_sms_backend_refuses_twilio_without_credentials(settings) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.SMS_BACKEND = "clinic.messaging.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    with pytest.raises(ImproperlyConfigured):
        get_sms_backend()


# --- E-mail -----------------------------------------------------------------------------------

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nSUMMARY:Infusion at Z\xc3\xbcrich\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "Clinic <clinic@example.org>"
    mail.outbox = []
    return mail.outbox


def test_send_email_attaches_the_calendar(locmem_email) -> None:
    send_email(
        to="pat@example.org",
        subject="Your infusion",
        body="See you",
        calendar_ics=ICS,
        reference="ref",
    )

    [message] = locmem_email
    assert message.to == ["pat@example.org"]
    assert message.from_email == "Clinic <clinic@example.org>"
    assert (message.subject, message.body) == ("Your infusion", "See you")
    [attachment] = message.attachments
    assert attachment.filename == "infusion.ics"
    assert attachment.content == ICS.decode()

    # What goes on the wire: one text/calendar part, method=PUBLISH, charset utf-8 (once).
    parsed = message_from_bytes(message.message().as_bytes())
    [part] = [p for p in parsed.walk() if p.get_filename() == "infusion.ics"]
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "PUBLISH"
    assert part.get_content_charset() == "utf-8"
    assert part["Content-Type"].count("charset") == 1
    # Line ends are the transport's business (SMTP sends CRLF); the content must survive.
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes) and payload.splitlines() == ICS.splitlines()


def test_send_email_without_a_calendar_has_no_attachment(locmem_email) -> None:
    send_email(to="pat@example.org", subject="Hello", body="Text", reference="ref")
    [message] = locmem_email
    assert message.attachments == []


class RefusingEmailBackend(BaseEmailBackend):
    """Fails the way `smtplib` does; `error` is set by each test."""

    error: Exception = smtplib.SMTPServerDisconnected("gone")

    def send_messages(self, email_messages):
        raise type(self).error


@pytest.fixture
def refusing_email(settings):
    settings.EMAIL_BACKEND = "tests.clinic.test_messaging.RefusingEmailBackend"
    yield RefusingEmailBackend
    RefusingEmailBackend.error = smtplib.SMTPServerDisconnected("gone")


ADDRESS = "pat@example.org"


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (
            smtplib.SMTPRecipientsRefused({ADDRESS: (550, b"5.1.1 <pat@example.org> unknown")}),
            False,
        ),
        (
            smtplib.SMTPRecipientsRefused({ADDRESS: (450, b"4.2.0 <pat@example.org> greylisted")}),
            True,
        ),
        (smtplib.SMTPDataError(554, b"5.7.1 message rejected"), False),
        (smtplib.SMTPDataError(451, b"4.3.0 try again later"), True),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), True),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), True),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError("timed out"), True),
    ],
)
def test_smtp_failures_become_delivery_errors(refusing_email, error, retryable) -> None:
    refusing_email.error = error
    with pytest.raises(DeliveryError) as caught:
        send_email(to=ADDRESS, subject="Your infusion", body=BODY, reference="ref")
    assert caught.value.retryable is retryable
    assert ADDRESS not in str(caught.value) and BODY not in str(caught.value)
    if isinstance(error, smtplib.SMTPException):
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
