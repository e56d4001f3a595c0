"""Error branches that the larger tests do not reach (issue 11, coverage): parameters
refused before papermill (data.parameters), non-finite Decimals, a sheet asked for a year
that is no integer."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from mutualisation.compute.fiche import Fiche
from mutualisation.data.parameters import (
    MAX_THRESHOLDS,
    ParameterError,
    valid_thresholds,
    valid_year,
)
from mutualisation.data.validate import load_dataset
from mutualisation.formatting import fr_decimal


@pytest.mark.parametrize(("year", "thresholds", "message"), [
    ("2019", [1], "année invalide : « 2019 » (un entier comme 2019 est attendu)"),
    (True, [1], "année invalide : « True » (un entier comme 2019 est attendu)"),
    (1949, [1], "année invalide : 1949 (entre 1950 et 2100)"),
    (2101, [1], "année invalide : 2101 (entre 1950 et 2100)"),
    (2019, [], "seuils invalides : une liste d'entiers positifs est attendue"),
    (2019, "1,2", "seuils invalides : une liste d'entiers positifs est attendue"),
    (2019, [1, 0], "seuil invalide : « 0 » (entier de 1 à 999)"),
    (2019, [1000], "seuil invalide : « 1000 » (entier de 1 à 999)"),
    (2019, [True], "seuil invalide : « True » (entier de 1 à 999)"),
    (2019, list(range(1, MAX_THRESHOLDS + 2)), f"trop de seuils : {MAX_THRESHOLDS + 1} "
     f"(au plus {MAX_THRESHOLDS})"),
])
def test_bad_parameters_are_refused(year: object, thresholds: object, message: str) -> None:
    with pytest.raises(ParameterError) as info:
        valid_year(year)
        valid_thresholds(thresholds)
    assert str(info.value) == message


def test_the_bounds_are_accepted_and_thresholds_sorted_unique() -> None:
    assert (valid_year(1950), valid_thresholds((3, 1, 3))) == (1950, (1, 3))
    assert valid_year(2100) == 2100
    assert valid_thresholds(list(range(MAX_THRESHOLDS, 0, -1)) * 2) == tuple(
        range(1, MAX_THRESHOLDS + 1))


@pytest.mark.parametrize("value", [Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN")])
def test_non_finite_decimals_are_refused(value: Decimal) -> None:
    with pytest.raises(ValueError, match="must be finite"):
        fr_decimal(value)


def test_a_sheet_for_a_year_that_is_no_integer(small_data: Path) -> None:
    with pytest.raises(ParameterError) as info:
        Fiche.from_dataset(load_dataset(small_data), year="2017")  # type: ignore[arg-type]
    assert str(info.value) == "année invalide : « 2017 » (un entier comme 2019 est attendu)"
