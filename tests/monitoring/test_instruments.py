"""Questionnaire scoring (monitoring.instruments) against CLINICAL.md "Questionnaires".

Pure rules over plain data: no database. The expected severity bands are written out here
independently of the module's own tables.
"""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring import instruments
from monitoring.instruments import (
    GAD7,
    INSTRUMENTS,
    PHQ9,
    AnswerError,
    AnswerOption,
    Instrument,
    Item,
    SeverityBand,
    response_and_remission,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# CLINICAL.md, written out total by total.
PHQ9_BANDS = (
    ["minimal"] * 5  # 0-4
    + ["mild"] * 5  # 5-9
    + ["moderate"] * 5  # 10-14
    + ["moderately_severe"] * 5  # 15-19
    + ["severe"] * 8  # 20-27
)
GAD7_BANDS = (
    ["minimal"] * 5  # 0-4
    + ["mild"] * 5  # 5-9
    + ["moderate"] * 5  # 10-14
    + ["severe"] * 7  # 15-21
)


def answers_totalling(total: int, count: int) -> list[int]:
    """`count` answers of 0-3 that add up to `total`, the largest first."""
    answers = []
    for _ in range(count):
        answer = min(3, total)
        answers.append(answer)
        total -= answer
    assert total == 0
    return answers


# --- Severity bands -----------------------------------------------------------------------------


def test_band_tables_cover_every_total() -> None:
    assert len(PHQ9_BANDS) == 28
    assert len(GAD7_BANDS) == 22


@pytest.mark.parametrize(("total", "band"), list(enumerate(PHQ9_BANDS)))
def test_phq9_every_total_maps_to_its_band(total: int, band: str) -> None:
    assert PHQ9.severity(total) == band
    result = PHQ9.score(answers_totalling(total, 9))
    assert result.total == total
    assert result.severity == band


@pytest.mark.parametrize(("total", "band"), list(enumerate(GAD7_BANDS)))
def test_gad7_every_total_maps_to_its_band(total: int, band: str) -> None:
    assert GAD7.severity(total) == band
    result = GAD7.score(answers_totalling(total, 7))
    assert result.total == total
    assert result.severity == band


@pytest.mark.parametrize(("instrument", "total"), [(PHQ9, -1), (PHQ9, 28), (GAD7, -1), (GAD7, 22)])
def test_severity_outside_the_range_is_an_error(instrument: Instrument, total: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        instrument.severity(total)


def test_max_scores() -> None:
    assert PHQ9.max_score == 27
    assert GAD7.max_score == 21


# --- Answer validation --------------------------------------------------------------------------


@pytest.mark.parametrize(("instrument", "count"), [(PHQ9, 8), (PHQ9, 11), (GAD7, 6), (GAD7, 8)])
def test_wrong_number_of_answers(instrument: Instrument, count: int) -> None:
    with pytest.raises(AnswerError) as raised:
        instrument.score([0] * count)
    assert instrument.name in raised.value.message
    assert f"got {count}" in raised.value.message


@pytest.mark.parametrize("answers", [[], ()])
def test_no_answers(answers: Any) -> None:
    with pytest.raises(AnswerError):
        PHQ9.score(answers)


def test_phq9_accepts_9_or_10_answers_and_gad7_exactly_7() -> None:
    assert PHQ9.score([0] * 9).answers == (0,) * 9
    assert PHQ9.score([0] * 10).answers == (0,) * 10
    assert GAD7.score((0,) * 7).answers == (0,) * 7


@pytest.mark.parametrize("instrument", [PHQ9, GAD7])
@pytest.mark.parametrize("value", [-1, 4])
@pytest.mark.parametrize("position", [0, 6])
def test_values_outside_0_to_3(instrument: Instrument, value: int, position: int) -> None:
    answers: list[Any] = [0] * len(instrument.items)
    answers[position] = value
    with pytest.raises(AnswerError) as raised:
        instrument.score(answers)
    assert raised.value.item_number == position + 1
    assert (
        raised.value.message == f"The answer to question {position + 1} must be one of 0, 1, 2, 3."
    )


@pytest.mark.parametrize("value", [-1, 4])
def test_phq9_item_10_outside_0_to_3(value: int) -> None:
    with pytest.raises(AnswerError) as raised:
        PHQ9.score([0] * 9 + [value])
    assert raised.value.item_number == 10


@pytest.mark.parametrize("instrument", [PHQ9, GAD7])
@pytest.mark.parametrize("value", ["1", 1.0, True, False, None])
def test_non_integers_are_refused(instrument: Instrument, value: Any) -> None:
    answers: list[Any] = [0] * len(instrument.items)
    answers[2] = value
    with pytest.raises(AnswerError) as raised:
        instrument.score(answers)
    assert raised.value.item_number == 3


@pytest.mark.parametrize("answers", ["000000000", dict.fromkeys(range(9), 0), None, 0, range(9)])
def test_answers_must_be_a_list_or_tuple(answers: Any) -> None:
    with pytest.raises(AnswerError) as raised:
        PHQ9.score(answers)
    assert raised.value.message.startswith("Answers must be a list")


def test_answer_error_is_a_value_error_with_a_message() -> None:
    with pytest.raises(ValueError, match="GAD-7 needs 7 answers"):
        GAD7.score([0] * 6)


# --- Item 10 and the safety item ----------------------------------------------------------------


@pytest.mark.parametrize("difficulty", [0, 1, 2, 3])
def test_phq9_item_10_is_not_scored(difficulty: int) -> None:
    result = PHQ9.score([1] * 9 + [difficulty])
    assert result.total == 9
    assert result.answers[-1] == difficulty
    assert PHQ9.items[9].scored is False


def test_phq9_item_10_wording_and_options() -> None:
    item = PHQ9.items[9]
    assert item.text == (
        "If you checked off any problems, how difficult have these problems made it for you to do "
        "your work, take care of things at home, or get along with other people?"
    )
    assert [(o.value, o.text) for o in item.options] == [
        (0, "Not difficult at all"),
        (1, "Somewhat difficult"),
        (2, "Very difficult"),
        (3, "Extremely difficult"),
    ]


@pytest.mark.parametrize(("item_9", "flagged"), [(0, False), (1, True), (2, True), (3, True)])
def test_safety_flag_follows_item_9(item_9: int, flagged: bool) -> None:
    result = PHQ9.score([0] * 8 + [item_9])
    assert result.safety_flag is flagged
    assert result.total == item_9
    assert PHQ9.safety_item == 9


def test_safety_flag_ignores_the_other_items() -> None:
    assert PHQ9.score([3] * 8 + [0, 3]).safety_flag is False
    assert GAD7.score([3] * 7).safety_flag is False
    assert GAD7.safety_item is None


# --- Response and remission ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "latest", "expected"),
    [
        (None, None, (None, None)),
        (None, 3, (None, True)),  # no baseline: response unknown, remission still known
        (10, None, (None, None)),
        (0, 0, (None, True)),  # no reduction is computable from zero
        (0, 7, (None, False)),
        (20, 10, (True, False)),  # exactly 50%: a response
        (21, 10, (True, False)),  # 52%
        (100, 51, (False, False)),  # 49%
        (20, 11, (False, False)),  # 45%
        (9, 4, (True, True)),  # 4 < 5: remission
        (10, 5, (True, False)),  # 5 is not remission
        (12, 12, (False, False)),
        (8, 12, (False, False)),  # worse
        (3, 1, (True, True)),
    ],
)
def test_response_and_remission(
    baseline: int | None, latest: int | None, expected: tuple[bool | None, bool | None]
) -> None:
    assert response_and_remission(baseline=baseline, latest=latest) == expected


def test_remission_threshold_is_configurable() -> None:
    assert response_and_remission(baseline=20, latest=7, remission_below=8) == (True, True)
    assert response_and_remission(baseline=20, latest=8, remission_below=8) == (True, False)


def test_response_and_remission_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        response_and_remission(20, 10)  # type: ignore[call-arg]


# --- Properties ---------------------------------------------------------------------------------

frequency = st.integers(0, 3)


@given(
    answers=st.lists(frequency, min_size=9, max_size=9),
    difficulty=st.one_of(st.none(), frequency),
)
def test_phq9_total_is_the_sum_of_the_first_nine(
    answers: list[int], difficulty: int | None
) -> None:
    given_answers = answers if difficulty is None else [*answers, difficulty]
    result = PHQ9.score(given_answers)
    assert result.total == sum(given_answers[:9])
    assert 0 <= result.total <= 27
    assert result.severity == PHQ9_BANDS[result.total]
    assert result.safety_flag is (answers[8] >= 1)
    assert result.answers == tuple(given_answers)


@given(answers=st.lists(frequency, min_size=7, max_size=7))
def test_gad7_total_is_the_sum(answers: list[int]) -> None:
    result = GAD7.score(answers)
    assert result.total == sum(answers)
    assert 0 <= result.total <= 21
    assert result.severity == GAD7_BANDS[result.total]


# --- Wording, codes and the registry ------------------------------------------------------------


def test_exact_wording_of_phq9_items_1_and_9() -> None:
    assert PHQ9.items[0].text == "Little interest or pleasure in doing things"
    assert PHQ9.items[8].text == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )


def test_stems_and_options() -> None:
    assert PHQ9.title == (
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    )
    assert GAD7.title == (
        "Over the last 2 weeks, how often have you been bothered by the following problems?"
    )
    frequency_texts = [(0, "Not at all"), (1, "Several days"), (2, "More than half the days")]
    frequency_texts.append((3, "Nearly every day"))
    for instrument in (PHQ9, GAD7):
        assert instrument.recall_period == "the last 2 weeks"
        for item in instrument.items:
            if item.scored:
                assert [(o.value, o.text) for o in item.options] == frequency_texts


def test_loinc_codes() -> None:
    assert (PHQ9.panel_loinc, PHQ9.total_loinc) == ("44249-1", "44261-6")
    assert (GAD7.panel_loinc, GAD7.total_loinc) == ("69737-5", "70274-6")
    assert PHQ9.items[8].loinc == "44260-8"
    assert [item.loinc for item in GAD7.items] == [
        "69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7",
    ]  # fmt: skip


def test_registry() -> None:
    assert set(INSTRUMENTS) == {"phq9", "gad7"}
    assert instruments.get("phq9") is PHQ9
    assert instruments.get("gad7") is GAD7
    assert (PHQ9.name, GAD7.name) == ("PHQ-9", "GAD-7")
    with pytest.raises(KeyError):
        instruments.get("phq2")


def test_a_new_instrument_is_only_data() -> None:
    toy = Instrument(
        code="toy",
        name="Toy-2",
        title="How often?",
        recall_period="the last week",
        panel_loinc="0-0",
        total_loinc="0-0",
        items=(
            Item(1, "One", None),
            Item(2, "Two", None, options=(AnswerOption(0, "No"), AnswerOption(1, "Yes"))),
        ),
        bands=(SeverityBand("minimal", 0, 1), SeverityBand("severe", 2, 4)),
        safety_item=2,
    )
    assert toy.max_score == 4
    assert toy.score([3, 1]) == instruments.ScoreResult(
        total=4, severity="severe", safety_flag=True, answers=(3, 1)
    )
    with pytest.raises(AnswerError, match="must be one of 0, 1"):
        toy.score([0, 2])


def test_an_inconsistent_instrument_is_refused() -> None:
    with pytest.raises(ValueError, match="bands"):
        Instrument(
            code="bad",
            name="Bad",
            title="?",
            recall_period="the last week",
            panel_loinc="0-0",
            total_loinc="0-0",
            items=(Item(1, "One", None),),
            bands=(SeverityBand("minimal", 0, 1),),  # leaves 2-3 unbanded
        )


def test_instruments_import_without_django() -> None:
    code = "import sys, monitoring.instruments; sys.exit('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr
