"""A patient fills in a questionnaire on a phone-sized screen, in a real headless Chromium
(Debian's chromium and chromium-driver). Screenshots are kept in test-artifacts/."""

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from clinic.models import Notification, Role
from monitoring.models import Alert, Survey
from monitoring.services import survey_send
from tests.factories import PatientFactory

from .conftest import ARTIFACTS


def _shown(browser: webdriver.Chrome, element_id: str) -> WebElement:
    """Wait for the next page to show an element (a click does not wait for navigation)."""
    return WebDriverWait(browser, 15).until(
        expected_conditions.visibility_of_element_located((By.ID, element_id))
    )


def _answer(browser: webdriver.Chrome, answers: list[int]) -> None:
    for number, value in enumerate(answers, start=1):
        radio = browser.find_element(
            By.CSS_SELECTOR, f'input[name="item_{number}"][value="{value}"]'
        )
        # Click the label the way a finger would: the whole row is the touch target.
        radio.find_element(By.XPATH, "./ancestor::label").click()
        assert radio.is_selected()


def _screenshot(browser: webdriver.Chrome, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(360, min(int(height) + 120, 4000))
    assert browser.save_screenshot(str(ARTIFACTS / name))


@pytest.mark.django_db(transaction=True)
def test_a_patient_fills_and_submits_the_form(browser, live_server, clinic, make_user) -> None:
    patient = PatientFactory.create(clinic=clinic, last_name="Pemberton")
    survey, raw = survey_send(
        actor=make_user(role=Role.CLINICIAN, clinics=[clinic]), patient=patient, instrument="phq9"
    )
    browser.get(f"{live_server.url}/s/{raw}/")
    assert clinic.name in browser.find_element(By.CSS_SELECTOR, "header").text
    assert "Pemberton" not in browser.page_source
    # Readable at 360 px: nothing wider than the screen.
    assert browser.execute_script("return window.innerWidth") == 360
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 360
    assert browser.find_element(By.CSS_SELECTOR, "label.option").size["height"] >= 48

    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()  # nothing chosen yet
    assert _shown(browser, "form-error").text.startswith("Some questions")

    _answer(browser, [1, 2, 1, 0, 1, 0, 1, 0, 0])
    _screenshot(browser, "survey-form.png")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert _shown(browser, "thanks").text == "Thank you"
    assert not browser.find_elements(By.ID, "crisis")
    _screenshot(browser, "survey-thanks.png")
    survey.refresh_from_db()
    assert survey.status == "completed" and survey.response.total_score == 6
    browser.get(f"{live_server.url}/s/{raw}/")
    assert "Already answered" in browser.find_element(By.TAG_NAME, "h1").text


@pytest.mark.django_db(transaction=True)
def test_item_9_shows_crisis_resources_at_once(browser, live_server, clinic, make_user) -> None:
    clinician = make_user(role=Role.CLINICIAN, clinics=[clinic], phone="+15550007777")
    patient = PatientFactory.create(clinic=clinic)
    _, raw = survey_send(actor=clinician, patient=patient, instrument="phq9")
    browser.get(f"{live_server.url}/s/{raw}/")
    _answer(browser, [0, 1, 0, 0, 0, 0, 0, 0, 2])
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "988" in _shown(browser, "crisis").text
    _screenshot(browser, "survey-crisis.png")
    assert Alert.objects.filter(
        parameter="phq9_item9", severity="critical", patient=patient
    ).exists()
    assert Notification.objects.filter(kind="alert", recipient_user=clinician, urgent=True).exists()
    assert Survey.objects.get(patient=patient).status == "completed"
