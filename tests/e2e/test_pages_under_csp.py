"""The HTML pages work under their Content-Security-Policy in a real Chromium: Swagger UI draws
the API, the admin's login page renders, the survey page loads, and the browser reports no
policy violation (Chromium logs each refused script, style or image to the console)."""

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from clinic.models import Role
from monitoring.services import survey_send
from tests.factories import PatientFactory

from .conftest import ARTIFACTS


def violations(browser: webdriver.Chrome) -> list[str]:
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
        or (entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"])
    ]


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_draws_the_api_under_its_policy(browser, live_server) -> None:
    browser.get(f"{live_server.url}/api/docs/")
    # The schema is built on first use: give Swagger UI time to fetch and draw it.
    WebDriverWait(browser, 60).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock"))
    )
    operations = browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    assert any("/api/v1/sessions/" in op.text for op in operations)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "api-docs.png"))
    assert not violations(browser)


@pytest.mark.django_db(transaction=True)
def test_the_admin_and_the_survey_page_render_under_their_policies(
    browser, live_server, clinic, make_user
) -> None:
    browser.get(f"{live_server.url}/admin/login/")
    assert browser.find_element(By.ID, "id_username").is_displayed()
    _, raw = survey_send(
        actor=make_user(role=Role.CLINICIAN, clinics=[clinic]),
        patient=PatientFactory.create(clinic=clinic),
        instrument="gad7",
    )
    browser.get(f"{live_server.url}/s/{raw}/")
    # The stylesheet applied (the page is laid out for a phone), under default-src 'none'.
    label = browser.find_element(By.CSS_SELECTOR, "label.option")
    assert label.size["height"] >= 48
    assert not violations(browser)
