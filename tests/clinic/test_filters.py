"""The list selectors apply their FilterSets to what the caller may see, and refuse (never
drop) a filter value they cannot use."""

from collections.abc import Callable

import pytest

from clinic import selectors
from clinic.models import Clinic, Role, User
from config.errors import Invalid
from tests.factories import ChairFactory, PatientFactory


@pytest.mark.django_db
def test_patient_search_matches_the_start_of_either_name_in_any_case(
    make_user: Callable[..., User], clinic: Clinic
) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])
    by_last = PatientFactory.create(clinic=clinic, first_name="Ann", last_name="Quill")
    by_first = PatientFactory.create(clinic=clinic, first_name="Quentin", last_name="Marsh")
    PatientFactory.create(clinic=clinic, first_name="Ann", last_name="Aquino")

    found = selectors.patient_list(user=nurse, filters={"search": "qu"})

    assert set(found) == {by_last, by_first}


@pytest.mark.django_db
def test_a_filter_narrows_the_callers_scope_and_never_widens_it(
    make_user: Callable[..., User], clinic: Clinic, other_clinic: Clinic
) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])
    mine = ChairFactory.create(clinic=clinic)
    ChairFactory.create(clinic=other_clinic)

    assert list(selectors.chair_list(user=nurse, filters={"clinic": clinic.pk})) == [mine]
    assert not selectors.chair_list(user=nurse, filters={"clinic": other_clinic.pk}).exists()


@pytest.mark.django_db
def test_a_value_the_filterset_cannot_use_is_refused_not_ignored(
    make_user: Callable[..., User], clinic: Clinic
) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])

    with pytest.raises(Invalid) as refused:
        selectors.patient_list(user=nurse, filters={"clinic": "abc"})

    assert set(refused.value.fields or {}) == {"clinic"}
