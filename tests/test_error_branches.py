"""Error branches that the larger tests do not reach (issue 11, coverage): parameters
refused before papermill, non-finite Decimals, a sheet asked for a year that is no integer."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from mutualisation.fiche import Fiche
from mutualisation.formatting import fr_decimal
from mutualisation.loading import DataError, load_dataset
from mutualisation.report import MAX_THRESHOLDS, ReportError, validate_parameters


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
def test_validate_parameters_refuses(year: object, thresholds: object, message: str) -> None:
    with pytest.raises(ReportError) as info:
        validate_parameters(year, thresholds)
    assert str(info.value) == message


def test_validate_parameters_accepts_the_bounds_and_sorts_unique_thresholds() -> None:
    assert validate_parameters(1950, (3, 1, 3)) == (1950, (1, 3))
    assert validate_parameters(2100, list(range(MAX_THRESHOLDS, 0, -1)) * 2) == (
        2100, tuple(range(1, MAX_THRESHOLDS + 1)))


@pytest.mark.parametrize("value", [Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN")])
def test_non_finite_decimals_are_refused(value: Decimal) -> None:
    with pytest.raises(ValueError, match="must be finite"):
        fr_decimal(value)


def test_a_sheet_for_a_year_that_is_no_integer(small_data: Path) -> None:
    with pytest.raises(DataError) as info:
        Fiche.from_dataset(load_dataset(small_data), year="2017")  # type: ignore[arg-type]
    assert info.value.lines() == [
        "paramètres : année « 2017 » invalide : un nombre entier est attendu (2019)"]
