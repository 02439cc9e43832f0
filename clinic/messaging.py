"""Outbound message transports: SMS backends and e-mail sending, behind one error type.

The outbox (DESIGN.md decision 5) decides what to send and when; this module only carries a
message out and says whether a failure is worth retrying. Nothing here logs or raises personal
data: no phone number, address or message body appears in a log line or an error message,
because both end up in log aggregators and in `Notification.last_error`.

SMS backends are chosen by `settings.SMS_BACKEND`, like Django's `EMAIL_BACKEND`:
console (development), in-memory and file (tests), Twilio (production).
"""

from __future__ import annotations

import json
import logging
import smtplib
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A message could not be sent. `retryable` says whether trying again later may succeed
    (network trouble, provider overload) or not (the provider refused this message)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, reference: str) -> str:
        """Send one text message and return the provider's id for it. `reference` is the
        outbox dedup key, for correlating logs; raise DeliveryError on failure."""
        ...


def mask_phone_number(number: str) -> str:
    """'+15551234567' -> '+*********67': enough to tell messages apart, not to identify anyone."""
    prefix = "+" if number.startswith("+") else ""
    rest = number.removeprefix("+")
    visible = 2 if len(rest) > 2 else 0
    return prefix + "*" * (len(rest) - visible) + rest[len(rest) - visible :]


class ConsoleSmsBackend:
    """Logs that a message would have been sent, without its content. For development."""

    def send(self, *, to: str, body: str, reference: str) -> str:
        message_id = f"console-{uuid.uuid4().hex}"
        logger.info(
            "SMS not sent (console backend): reference=%s to=%s body_length=%d message_id=%s",
            reference,
            mask_phone_number(to),
            len(body),
            message_id,
        )
        return message_id


@dataclass(frozen=True)
class SentSms:
    to: str
    body: str
    reference: str
    message_id: str


class InMemorySmsBackend:
    """Keeps sent messages in `InMemorySmsBackend.outbox`, like Django's locmem mail outbox.
    Tests clear the list themselves."""

    outbox: ClassVar[list[SentSms]] = []

    def send(self, *, to: str, body: str, reference: str) -> str:
        message_id = f"memory-{len(type(self).outbox) + 1}"
        type(self).outbox.append(
            SentSms(to=to, body=body, reference=reference, message_id=message_id)
        )
        return message_id


class FileSmsBackend:
    """Appends each message as one JSON line to `settings.SMS_FILE_PATH`, so that a test can
    see what a Celery worker in another process sent."""

    def send(self, *, to: str, body: str, reference: str) -> str:
        message_id = f"file-{uuid.uuid4().hex}"
        record = SentSms(to=to, body=body, reference=reference, message_id=message_id)
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one whole line in append mode: lines from concurrent worker processes
        # do not interleave.
        with path.open("a", encoding="utf-8") as sms_file:
            sms_file.write(json.dumps(asdict(record)) + "\n")
            sms_file.flush()
        return message_id


class TwilioSmsBackend:
    """Sends through Twilio's Programmable Messaging REST API (Messages resource)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_seconds: float = 10.0,
        base_url: str = "https://api.twilio.com",
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.transport = transport
        self.timeout_seconds = timeout_seconds
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"

    def send(self, *, to: str, body: str, reference: str) -> str:
        try:
            with httpx.Client(transport=self.transport, timeout=self.timeout_seconds) as client:
                response = client.post(
                    self.url,
                    data={"To": to, "From": self.from_number, "Body": body},
                    auth=(self.account_sid, self.auth_token),
                )
        except httpx.RequestError as error:
            # A timeout after the request left may mean Twilio did send it; Twilio has no
            # idempotency key for messages, so a retry can (rarely) deliver a duplicate.
            # Only the class name: an exception's text is not ours to vouch for.
            raise DeliveryError(
                f"Could not reach Twilio ({type(error).__name__})", retryable=True
            ) from error

        status = response.status_code
        if response.is_success:
            message_id = _json_object(response).get("sid")
            if not isinstance(message_id, str) or not message_id:
                # Accepted, so probably sent: retrying could send it twice.
                raise DeliveryError(
                    f"Twilio answered HTTP {status} without a message sid", retryable=False
                )
            logger.info("SMS sent via Twilio: reference=%s sid=%s", reference, message_id)
            return message_id
        if status >= 500:
            raise DeliveryError(f"Twilio unavailable: HTTP {status}", retryable=True)
        # Twilio's error body also has a "message", which can quote the number: leave it out.
        code = _json_object(response).get("code")
        detail = f", Twilio error {code}" if isinstance(code, int) else ""
        raise DeliveryError(
            f"Twilio rejected the message: HTTP {status}{detail}",
            retryable=status == httpx.codes.TOO_MANY_REQUESTS,
        )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The response body as a JSON object, or {} when it is not one (a proxy's HTML page)."""
    try:
        parsed = response.json()
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def get_sms_backend() -> SmsBackend:
    """A new instance of the backend named by `settings.SMS_BACKEND`."""
    backend_class = import_string(settings.SMS_BACKEND)
    if isinstance(backend_class, type) and issubclass(backend_class, TwilioSmsBackend):
        credentials = (
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            settings.TWILIO_FROM_NUMBER,
        )
        if not all(credentials):
            raise ImproperlyConfigured(
                "TwilioSmsBackend needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                "TWILIO_FROM_NUMBER"
            )
        return backend_class(*credentials)
    backend: SmsBackend = backend_class()
    return backend


CALENDAR_ATTACHMENT_NAME = "infusion.ics"
# Django's text attachments get `charset="utf-8"` added by the MIME layer; naming the charset
# here too would write the parameter twice in the Content-Type header.
CALENDAR_ATTACHMENT_MIMETYPE = "text/calendar; method=PUBLISH"


def send_email(
    *,
    to: str,
    subject: str,
    body: str,
    calendar_ics: bytes | None = None,
    reference: str,
) -> None:
    """Send one e-mail through Django's configured e-mail backend, optionally with an .ics."""
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]
    )
    if calendar_ics is not None:
        message.attach(CALENDAR_ATTACHMENT_NAME, calendar_ics, CALENDAR_ATTACHMENT_MIMETYPE)
    # The smtplib errors below carry the refused address and the server's reply, which may
    # quote it; they are not chained (`from None`) so that no traceback logs it.
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = sorted({code for code, _reply in error.recipients.values()})
        raise DeliveryError(
            f"SMTP server refused the recipient ({', '.join(map(str, codes))})",
            retryable=not all(code >= 500 for code in codes),  # 4xx is temporary (RFC 5321)
        ) from None
    except smtplib.SMTPDataError as error:
        raise DeliveryError(
            f"SMTP server refused the message ({error.smtp_code})",
            retryable=error.smtp_code < 500,
        ) from None
    except smtplib.SMTPException as error:
        raise DeliveryError(f"SMTP failure ({type(error).__name__})", retryable=True) from None
    except OSError as error:
        raise DeliveryError(
            f"Could not reach the SMTP server ({type(error).__name__})", retryable=True
        ) from error
    logger.info("E-mail sent: reference=%s", reference)
