"""Symptom questionnaires as data: items in their published wording, answer options, LOINC
codes, scoring and severity bands. A third instrument is a data change only. Pure Python.

Sources: PHQ-9, Kroenke, Spitzer & Williams, J Gen Intern Med 2001; GAD-7, Spitzer, Kroenke,
Williams & Löwe, Arch Intern Med 2006. Both are free to use without permission. Response and
remission as CLINICAL.md defines them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerOption:
    value: int
    text: str


# Both instruments ask how often, over the last 2 weeks.
FREQUENCY_OPTIONS = (
    AnswerOption(0, "Not at all"),
    AnswerOption(1, "Several days"),
    AnswerOption(2, "More than half the days"),
    AnswerOption(3, "Nearly every day"),
)
DIFFICULTY_OPTIONS = (
    AnswerOption(0, "Not difficult at all"),
    AnswerOption(1, "Somewhat difficult"),
    AnswerOption(2, "Very difficult"),
    AnswerOption(3, "Extremely difficult"),
)


@dataclass(frozen=True)
class Item:
    number: int  # 1-based
    text: str  # the published wording
    loinc: str | None
    scored: bool = True
    options: tuple[AnswerOption, ...] = FREQUENCY_OPTIONS


@dataclass(frozen=True)
class SeverityBand:
    name: str
    low: int
    high: int  # inclusive


@dataclass(frozen=True)
class ScoreResult:
    total: int
    severity: str
    safety_flag: bool
    answers: tuple[int, ...]


class AnswerError(ValueError):
    """Answers that cannot be scored; `message` is a sentence for the patient or the API, and
    `item_number` the question at fault, if one is."""

    def __init__(self, message: str, item_number: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.item_number = item_number


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    title: str
    recall_period: str
    panel_loinc: str
    total_loinc: str
    items: tuple[Item, ...]
    bands: tuple[SeverityBand, ...]
    safety_item: int | None = None  # an answer >= 1 on it must reach a clinician at once

    def __post_init__(self) -> None:
        """Refuse an instrument entered inconsistently, when the module loads."""
        if [item.number for item in self.items] != list(range(1, len(self.items) + 1)):
            raise ValueError(f"{self.code}: items must be numbered 1 to {len(self.items)}")
        if not self.scored_items:
            raise ValueError(f"{self.code}: no scored item")
        edges = [(band.low, band.high) for band in self.bands]
        expected_low = 0
        for low, high in edges:
            if low != expected_low or high < low:
                raise ValueError(f"{self.code}: bands must cover 0 to the maximum without gaps")
            expected_low = high + 1
        if expected_low != self.max_score + 1:
            raise ValueError(f"{self.code}: bands must end at the maximum score {self.max_score}")
        if self.safety_item is not None and not self.items[self.safety_item - 1].scored:
            raise ValueError(f"{self.code}: the safety item must be a scored item")

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.scored)

    @property
    def max_score(self) -> int:
        return sum(max(option.value for option in item.options) for item in self.scored_items)

    def severity(self, total: int) -> str:
        for band in self.bands:
            if band.low <= total <= band.high:
                return band.name
        raise ValueError(f"{total} is outside 0-{self.max_score}")

    def score(self, answers: Sequence[int]) -> ScoreResult:
        """Score answers given in item order. Unscored items at the end may be left out."""
        if not isinstance(answers, list | tuple):
            raise AnswerError("Answers must be a list of whole numbers, in question order.")
        required = max(item.number for item in self.scored_items)
        total_items = len(self.items)
        if not required <= len(answers) <= total_items:
            expected = str(required) if required == total_items else f"{required} or {total_items}"
            raise AnswerError(f"{self.name} needs {expected} answers, got {len(answers)}.")
        for item, answer in zip(self.items, answers, strict=False):
            allowed = [option.value for option in item.options]
            # bool is an int in Python, but `true` is not an answer; nor is 1.0.
            if type(answer) is not int or answer not in allowed:
                raise AnswerError(
                    f"The answer to question {item.number} must be one of "
                    f"{', '.join(map(str, allowed))}.",
                    item_number=item.number,
                )
        scored = [answer for item, answer in zip(self.items, answers, strict=False) if item.scored]
        total = sum(scored)
        safety = self.safety_item is not None and answers[self.safety_item - 1] >= 1
        return ScoreResult(
            total=total, severity=self.severity(total), safety_flag=safety, answers=tuple(answers)
        )


PHQ9 = Instrument(
    code="phq9",
    name="PHQ-9",
    title=(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    ),
    recall_period="the last 2 weeks",
    panel_loinc="44249-1",
    total_loinc="44261-6",
    items=(
        Item(1, "Little interest or pleasure in doing things", "44250-9"),
        Item(2, "Feeling down, depressed, or hopeless", "44255-8"),
        Item(3, "Trouble falling or staying asleep, or sleeping too much", "44259-0"),
        Item(4, "Feeling tired or having little energy", "44254-1"),
        Item(5, "Poor appetite or overeating", "44251-7"),
        Item(
            6,
            "Feeling bad about yourself — or that you are a failure or have let yourself or "
            "your family down",
            "44258-2",
        ),
        Item(
            7,
            "Trouble concentrating on things, such as reading the newspaper or watching television",
            "44252-5",
        ),
        Item(
            8,
            "Moving or speaking so slowly that other people could have noticed? Or the "
            "opposite — being so fidgety or restless that you have been moving around a lot "
            "more than usual",
            "44253-3",
        ),
        Item(
            9,
            "Thoughts that you would be better off dead or of hurting yourself in some way",
            "44260-8",
        ),
        Item(
            10,
            "If you checked off any problems, how difficult have these problems made it for you "
            "to do your work, take care of things at home, or get along with other people?",
            "69722-7",
            scored=False,
            options=DIFFICULTY_OPTIONS,
        ),
    ),
    bands=(
        SeverityBand("minimal", 0, 4),
        SeverityBand("mild", 5, 9),
        SeverityBand("moderate", 10, 14),
        SeverityBand("moderately_severe", 15, 19),
        SeverityBand("severe", 20, 27),
    ),
    safety_item=9,
)

GAD7 = Instrument(
    code="gad7",
    name="GAD-7",
    title="Over the last 2 weeks, how often have you been bothered by the following problems?",
    recall_period="the last 2 weeks",
    panel_loinc="69737-5",
    total_loinc="70274-6",
    items=(
        Item(1, "Feeling nervous, anxious or on edge", "69725-0"),
        Item(2, "Not being able to stop or control worrying", "68509-9"),
        Item(3, "Worrying too much about different things", "69733-4"),
        Item(4, "Trouble relaxing", "69734-2"),
        Item(5, "Being so restless that it is hard to sit still", "69735-9"),
        Item(6, "Becoming easily annoyed or irritable", "69689-8"),
        Item(7, "Feeling afraid as if something awful might happen", "69736-7"),
    ),
    bands=(
        SeverityBand("minimal", 0, 4),
        SeverityBand("mild", 5, 9),
        SeverityBand("moderate", 10, 14),
        SeverityBand("severe", 15, 21),
    ),
)

INSTRUMENTS: dict[str, Instrument] = {PHQ9.code: PHQ9, GAD7.code: GAD7}

# Remission: a total below 5, for PHQ-9 and GAD-7 alike (CLINICAL.md).
REMISSION_BELOW = 5


def get(code: str) -> Instrument:
    return INSTRUMENTS[code]


def response_and_remission(
    *, baseline: int | None, latest: int | None, remission_below: int = REMISSION_BELOW
) -> tuple[bool | None, bool | None]:
    """Response: the latest total at least 50% below the baseline. Remission: latest below 5.
    None where it cannot be said: no score yet, or (for response) a baseline of 0, from which
    no reduction is possible."""
    remission = None if latest is None else latest < remission_below
    if baseline is None or latest is None or baseline == 0:
        return None, remission
    return latest * 2 <= baseline, remission
