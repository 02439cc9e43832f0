"""The session's record as the API answers it: the summary's highest and lowest reading of
every measurement, and the chart's data (SpO2 and respiratory rate with their bands)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.thresholds import effective_thresholds
from monitoring.charts import Band
from monitoring.selectors import session_chart_data, threshold_bands
from tests.conftest import client_for

from .conftest import reading

MEASUREMENTS = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate", "temperature_c")


def record(user, session, minutes_ago: int, **values):
    payload = reading(
        taken_at=(timezone.now() - timedelta(minutes=minutes_ago)).isoformat(), **values
    )
    response = client_for(user).post(
        f"/api/v1/sessions/{session.pk}/vitals/", payload, format="json"
    )
    assert response.status_code == 201, response.json()
    return payload["id"]


def summary(user, session):
    response = client_for(user).get(f"/api/v1/sessions/{session.pk}/summary/")
    assert response.status_code == 200, response.json()
    return response.json()


def reading_ids(extremes):
    return {field: (r["id"] if r else None) for field, r in extremes.items()}


@pytest.mark.django_db
def test_the_summary_has_the_highest_and_lowest_reading_of_every_measurement(
    nurse_user, checked_in
) -> None:
    first = record(
        nurse_user, checked_in, 30,
        systolic=150, diastolic=70, heart_rate=60, spo2=99, respiratory_rate=12,
        temperature_c="36.5",
    )  # fmt: skip
    second = record(
        nurse_user, checked_in, 20,
        systolic=110, diastolic=95, heart_rate=101, spo2=92, respiratory_rate=22,
        temperature_c="38.2",
    )  # fmt: skip
    # Between the two on every measurement: never the highest nor the lowest.
    record(
        nurse_user, checked_in, 10,
        systolic=130, diastolic=80, heart_rate=80, spo2=95, respiratory_rate=16,
        temperature_c="37.0",
    )  # fmt: skip

    body = summary(nurse_user, checked_in)

    assert reading_ids(body["peak"]) == {
        "systolic": first,
        "diastolic": second,
        "heart_rate": second,
        "spo2": first,
        "respiratory_rate": second,
        "temperature_c": second,
    }
    assert reading_ids(body["lowest"]) == {
        "systolic": second,
        "diastolic": first,
        "heart_rate": first,
        "spo2": second,
        "respiratory_rate": first,
        "temperature_c": first,
    }
    assert body["lowest"]["spo2"]["spo2"] == 92
    assert body["peak"]["temperature_c"]["temperature_c"] == "38.2"


@pytest.mark.django_db
def test_a_measurement_never_taken_has_no_highest_or_lowest(nurse_user, checked_in) -> None:
    only_bp = record(
        nurse_user, checked_in, 5,
        heart_rate=..., spo2=..., respiratory_rate=..., temperature_c=..., consciousness=...,
    )  # fmt: skip

    body = summary(nurse_user, checked_in)

    for extremes in (body["peak"], body["lowest"]):
        assert reading_ids(extremes) == {
            "systolic": only_bp,
            "diastolic": only_bp,
            "heart_rate": None,
            "spo2": None,
            "respiratory_rate": None,
            "temperature_c": None,
        }


@pytest.mark.django_db
def test_a_session_without_readings_has_every_measurement_and_none_of_them(
    nurse_user, checked_in
) -> None:
    body = summary(nurse_user, checked_in)

    assert body["peak"] == dict.fromkeys(MEASUREMENTS)
    assert body["lowest"] == dict.fromkeys(MEASUREMENTS)


@pytest.mark.django_db
def test_a_tie_names_the_first_reading_to_reach_it(nurse_user, checked_in) -> None:
    earlier = record(nurse_user, checked_in, 20, spo2=93, respiratory_rate=24)
    record(nurse_user, checked_in, 10, spo2=93, respiratory_rate=24)

    body = summary(nurse_user, checked_in)

    assert body["lowest"]["spo2"]["id"] == earlier
    assert body["peak"]["respiratory_rate"]["id"] == earlier


@pytest.mark.django_db
def test_a_corrected_reading_is_not_an_extreme(nurse_user, checked_in) -> None:
    record(nurse_user, checked_in, 20, spo2=97)
    wrong = record(nurse_user, checked_in, 10, spo2=85, respiratory_rate=40)
    correction = record(nurse_user, checked_in, 10, spo2=96, respiratory_rate=16, supersedes=wrong)

    body = summary(nurse_user, checked_in)

    assert body["lowest"]["spo2"]["id"] == correction
    assert body["peak"]["respiratory_rate"]["id"] == correction


def test_the_chart_bands_of_spo2_and_respiratory_rate_are_the_protocol_limits() -> None:
    bands = threshold_bands(effective_thresholds({}))

    # CLINICAL.md: SpO2 warning <= 93, critical <= 91; respiratory rate warning < 12 or > 20,
    # critical <= 8 or >= 25.
    assert [b for b in bands if b.label.startswith(("SpO2", "Respiratory rate"))] == [
        Band("SpO2 warning (low)", 91, 93, "warning"),
        Band("SpO2 critical (low)", None, 91, "critical"),
        Band("Respiratory rate warning", 20, 25, "warning"),
        Band("Respiratory rate critical", 25, None, "critical"),
        Band("Respiratory rate warning (low)", 8, 12, "warning"),
        Band("Respiratory rate critical (low)", None, 8, "critical"),
    ]
    # The ones charted before are still there.
    assert {"Systolic warning", "Diastolic critical", "Heart rate critical (low)"} <= {
        b.label for b in bands
    }


@pytest.mark.django_db
def test_the_chart_data_carries_spo2_and_respiratory_rate(nurse_user, checked_in) -> None:
    record(nurse_user, checked_in, 10, spo2=94, respiratory_rate=18)
    record(nurse_user, checked_in, 5, spo2=..., respiratory_rate=...)

    points = session_chart_data(user=nurse_user, session_id=checked_in.pk)["points"]

    assert [(p.spo2, p.respiratory_rate) for p in points] == [(94, 18), (None, None)]


@pytest.mark.django_db
def test_the_chart_draws_spo2_and_respiratory_rate(nurse_user, checked_in) -> None:
    record(nurse_user, checked_in, 10, spo2=94, respiratory_rate=18)

    response = client_for(nurse_user).get(f"/api/v1/sessions/{checked_in.pk}/chart.svg")

    assert response.status_code == 200
    for text in (b"SpO2 (%)", b"Respiratory rate (/min)", b"SpO2 warning (low)"):
        assert text in response.content
