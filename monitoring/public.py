"""What the patient's public link shares between its two interfaces (the JSON API and the HTML
survey pages): the per-address rate limit."""

from django.conf import settings

from config.errors import Throttled
from config.ratelimit import over_limit


def public_rate_check(ip: str | None) -> None:
    """Throttled past the per-address limit of the public questionnaire pages (HTML and JSON)."""
    if over_limit(scope="public_survey", key=ip, limit=settings.PUBLIC_SURVEY_RATE_PER_MINUTE):
        raise Throttled("throttled", "Too many requests. Try again in a minute.")
