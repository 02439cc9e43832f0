"""The patient's questionnaire page: a plain HTML form behind a link (no login, no JavaScript).

It shows the clinic's name and the questions, nothing about the patient: the link may be seen
by someone else. The token is the only key; the page is never cached."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from config.api.exceptions import http_status
from config.errors import ApplicationError, Invalid
from config.request_context import client_ip_of
from monitoring import instruments, selectors, services
from monitoring.public import public_rate_check

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
CLOSED_TITLES = {
    404: "Link not found",
    409: "Already answered",
    410: "Link expired",
    429: "Please wait",
}


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def _closed(request: HttpRequest, error: ApplicationError, clinic: str = "") -> HttpResponse:
    title = CLOSED_TITLES.get(http_status(error), "Sorry")
    context = {"title": title, "message": error.message, "clinic": clinic}
    return _page(request, "monitoring/survey_closed.html", context, status=http_status(error))


def _answers_from(
    form: Any, instrument: instruments.Instrument
) -> tuple[list[int], dict[int, str]]:
    answers: list[int] = []
    errors: dict[int, str] = {}
    allowed = {str(option.value) for item in instrument.items for option in item.options}
    for item in instrument.items:
        raw = form.get(f"item_{item.number}", "")
        if raw == "" and not item.scored:
            continue  # the difficulty question may be left out
        if raw not in allowed:
            errors[item.number] = "Please choose one answer."
            continue
        answers.append(int(raw))
    return answers, errors


def _questions(
    instrument: instruments.Instrument, form: Any, errors: dict[int, str]
) -> list[dict[str, Any]]:
    """The items as the template shows them, with the patient's earlier choices kept."""
    return [
        {
            "number": item.number,
            "text": item.text,
            "scored": item.scored,
            "error": errors.get(item.number, ""),
            "options": [
                {
                    "value": option.value,
                    "text": option.text,
                    "checked": form.get(f"item_{item.number}") == str(option.value),
                }
                for option in item.options
            ],
        }
        for item in instrument.items
    ]


@never_cache
@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        public_rate_check(client_ip_of(request))
        survey = selectors.survey_open_by_token(raw_token=token)
    except ApplicationError as error:
        return _closed(request, error)
    instrument = instruments.get(survey.instrument)
    context: dict[str, Any] = {
        "clinic": survey.clinic.name,
        "instrument": instrument,
        "questions": _questions(instrument, {}, {}),
    }
    if request.method == "GET":
        return _page(request, "monitoring/survey_form.html", context)
    answers, errors = _answers_from(request.POST, instrument)
    form_error = "Some questions still need an answer." if errors else ""
    if not errors:
        try:
            submission = services.survey_submit(raw_token=token, answers=answers)
        except ApplicationError as error:
            if not isinstance(error, Invalid):
                return _closed(request, error, survey.clinic.name)
            form_error = error.message
        else:
            done = {"clinic": survey.clinic.name, "crisis_text": submission.crisis_text}
            return _page(request, "monitoring/survey_done.html", done)
    context.update(questions=_questions(instrument, request.POST, errors), form_error=form_error)
    return _page(request, "monitoring/survey_form.html", context, status=400)
