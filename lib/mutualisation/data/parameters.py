"""The parameters of a report — data folder, year, thresholds, commune — checked once.

The command line and the notebooks' builders (:meth:`mutualisation.compute.bilan.Bilan.build`,
:meth:`mutualisation.compute.fiche.Fiche.build`) make a :class:`Parameters`; everything below
them takes its values as valid. Papermill checks nothing, so a report's notebook gets its
values from :meth:`Parameters.notebook`, already checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mutualisation.config import PROJECT_ROOT

#: Years a bilan may be asked for: intercommunalities as they exist date from the 1960s
#: (communautés urbaines, 1966); the bounds only keep absurd values out of date arithmetic.
YEAR_BOUNDS = (1950, 2100)
#: "At least k actions": k from 1 to THRESHOLD_MAX, at most MAX_THRESHOLDS of them (one
#: column each in the tables and the workbook).
THRESHOLD_MAX = 999
MAX_THRESHOLDS = 10
#: The thresholds of a bilan unless told otherwise.
DEFAULT_THRESHOLDS: tuple[int, ...] = (1, 2, 5)
#: Valid INSEE codes: five digits, or 2A/2B and three digits (Corsica).
INSEE_PATTERN = r"^(?:\d{5}|2[AB]\d{3})$"


class ParameterError(ValueError):
    """A parameter out of its bounds; its text is one French line."""


def valid_year(year: object) -> int:
    """``year`` when it is an integer within :data:`YEAR_BOUNDS`, else ParameterError."""
    low, high = YEAR_BOUNDS
    if isinstance(year, bool) or not isinstance(year, int):
        raise ParameterError(f"année invalide : « {year} » (un entier comme 2019 est attendu)")
    if not low <= year <= high:
        raise ParameterError(f"année invalide : {year} (entre {low} et {high})")
    return year


def valid_thresholds(thresholds: object) -> tuple[int, ...]:
    """The distinct thresholds, sorted, when each is an integer from 1 to
    :data:`THRESHOLD_MAX` and there are at most :data:`MAX_THRESHOLDS`; else ParameterError."""
    if not isinstance(thresholds, list | tuple) or not thresholds:
        raise ParameterError("seuils invalides : une liste d'entiers positifs est attendue")
    for k in thresholds:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= THRESHOLD_MAX:
            raise ParameterError(f"seuil invalide : « {k} » (entier de 1 à {THRESHOLD_MAX})")
    unique = tuple(sorted(set(thresholds)))
    if len(unique) > MAX_THRESHOLDS:
        raise ParameterError(f"trop de seuils : {len(unique)} (au plus {MAX_THRESHOLDS})")
    return unique


def valid_date(text: str) -> date:
    """A date written JJ/MM/AAAA or AAAA-MM-JJ, within :data:`YEAR_BOUNDS`; else
    ParameterError."""
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
        valid_year(day.year)
        return day
    raise ParameterError(f"date invalide : « {text} » (attendu JJ/MM/AAAA ou AAAA-MM-JJ)")


def normalise_code(code: object) -> str:
    """An INSEE code as the data holds it: text, upper case; a number gets its leading
    zeros back (papermill passes ``-p code_insee 59350`` as an integer).

    Raises ParameterError when the value can't be an INSEE code.
    """
    if isinstance(code, int) and not isinstance(code, bool) and 0 <= code <= 99_999:
        text = f"{code:05d}"
    elif isinstance(code, str):
        text = code.strip().upper()
        text = text.zfill(5) if re.fullmatch(r"\d{4}", text) else text
    else:
        text = str(code)
    if not re.match(INSEE_PATTERN, text):
        raise ParameterError(
            f"code INSEE « {code} » invalide : 5 caractères, chiffres (59350) ou 2A/2B "
            "suivis de 3 chiffres (2A004)")
    return text


def resolve_data(folder: str | Path) -> Path:
    """A data folder given relative to the project root (as stored reports do) or absolute."""
    path = Path(folder)
    return path if path.is_absolute() else PROJECT_ROOT / path


def portable_data_path(folder: str | Path) -> str:
    """The data folder as a report records it: relative to the project when inside it."""
    path = Path(folder).resolve()
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Parameters:
    """What a report is asked for. ``year`` None: the last year of the data; ``code_insee``
    (a commune sheet) None: a bilan. Made by :meth:`checked`."""

    data: Path
    year: int | None = None
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    code_insee: str | None = None

    @classmethod
    def checked(cls, data: str | Path, year: object = None,
                thresholds: object = DEFAULT_THRESHOLDS,
                code_insee: object = None) -> Parameters:
        """The parameters, each checked (ParameterError names the first bad one)."""
        return cls(
            resolve_data(data),
            None if year is None else valid_year(year),
            valid_thresholds(thresholds),
            None if code_insee is None else normalise_code(code_insee),
        )

    def for_year(self, year: int) -> Parameters:
        """The same parameters for ``year`` (checked)."""
        return Parameters(self.data, valid_year(year), self.thresholds, self.code_insee)

    def for_commune(self, code_insee: object) -> Parameters:
        """The same parameters for the sheet of ``code_insee`` (normalised)."""
        return Parameters(self.data, self.year, self.thresholds, normalise_code(code_insee))

    def notebook(self) -> dict[str, Any]:
        """The papermill parameters of the report's notebook (the data folder portable)."""
        values: dict[str, Any] = {"annee": self.year, "donnees": portable_data_path(self.data)}
        if self.code_insee is None:
            values["seuils"] = list(self.thresholds)
        else:
            values["code_insee"] = self.code_insee
        return dict(sorted(values.items()))
