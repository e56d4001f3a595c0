"""French formats of mutualisation.formatting, pinned to literal strings.

Babel's French locale writes U+202F (narrow no-break space) between groups of
thousands and U+00A0 (no-break space) before "%"; negative numbers use the
minus sign U+2212.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mutualisation.formatting import (
    d3_format_locale,
    d3_time_format_locale,
    fr_date,
    fr_decimal,
    fr_int,
    fr_month_year,
    fr_percent,
    fr_signed_int,
    plural,
)

NNBSP = "\u202f"  # thousands separator
NBSP = "\u00a0"  # before %
MINUS = "\u2212"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1234, "1\u202f234"),
        (1194040, "1\u202f194\u202f040"),
        (-1234, "\u22121\u202f234"),
        (12.0, "12"),
    ],
)
def test_fr_int(value, expected):
    assert fr_int(value) == expected


def test_fr_int_uses_babel_separator_and_real_minus():
    assert fr_int(1234) == f"1{NNBSP}234"
    assert fr_int(-5) == f"{MINUS}5"


@pytest.mark.parametrize("value", [1.5, float("nan"), float("inf")])
def test_fr_int_rejects_non_whole_numbers(value):
    with pytest.raises(ValueError):
        fr_int(value)


@pytest.mark.parametrize("value", [None, "12", True])
def test_fr_int_rejects_non_numbers(value):
    with pytest.raises(TypeError):
        fr_int(value)


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (1234.5, 1, "1\u202f234,5"),
        (1234.5, 2, "1\u202f234,50"),
        (1234.5, 0, "1\u202f235"),
        (1.5, 1, "1,5"),
        (2.25, 1, "2,3"),  # half up, not half even
        (0.125, 2, "0,13"),
        (0.1 + 0.2, 2, "0,30"),
        (-0.04, 1, "0,0"),  # no "-0,0"
        (-2.5, 1, "\u22122,5"),
        (Decimal("9.95"), 1, "10,0"),
        (3, 1, "3,0"),
    ],
)
def test_fr_decimal(value, digits, expected):
    assert fr_decimal(value, digits) == expected


def test_fr_decimal_default_one_digit():
    assert fr_decimal(1234.56) == f"1{NNBSP}234,6"


@pytest.mark.parametrize("digits", [-1, 1.5, True])
def test_fr_decimal_rejects_bad_digits(digits):
    with pytest.raises(ValueError):
        fr_decimal(1.0, digits)


@pytest.mark.parametrize(
    ("share", "digits", "expected"),
    [
        (0.9556, 0, "96\u00a0%"),
        (0.9556, 1, "95,6\u00a0%"),
        (1.0, 0, "100\u00a0%"),
        (1, 0, "100\u00a0%"),
        (0.0, 0, "0\u00a0%"),
        (0.125, 0, "13\u00a0%"),  # half up
        (0.5, 1, "50,0\u00a0%"),
        (12.345, 0, "1\u202f235\u00a0%"),
    ],
)
def test_fr_percent(share, digits, expected):
    assert fr_percent(share, digits) == expected


def test_fr_percent_no_break_space_before_percent_sign():
    assert fr_percent(0.9556) == f"96{NBSP}%"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, "+3"), (-2, "\u22122"), (0, "0"), (1234, "+1\u202f234"), (-1234, "\u22121\u202f234")],
)
def test_fr_signed_int(value, expected):
    assert fr_signed_int(value) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0 action"),
        (1, "1 action"),
        (2, "2 actions"),
        (25, "25 actions"),
        (1234, "1\u202f234 actions"),
    ],
)
def test_plural(n, expected):
    assert plural(n, "action", "actions") == expected


def test_plural_irregular_words():
    assert plural(3, "commune non membre", "communes non membres") == "3 communes non membres"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2019, 12, 31), "31 décembre 2019"),
        (dt.date(2015, 6, 19), "19 juin 2015"),
        (dt.date(2020, 1, 1), "1er janvier 2020"),
        (dt.date(2020, 8, 2), "2 août 2020"),
        (dt.datetime(2019, 2, 1, 14, 30), "1er février 2019"),
    ],
)
def test_fr_date(day, expected):
    assert fr_date(day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2019, 12, 31), "décembre 2019"),
        (dt.date(2020, 2, 1), "février 2020"),
        (dt.date(2020, 8, 15), "août 2020"),
    ],
)
def test_fr_month_year(day, expected):
    assert fr_month_year(day) == expected


@pytest.mark.parametrize("value", ["2019-12-31", None, 2019])
def test_dates_reject_non_dates(value):
    with pytest.raises(TypeError):
        fr_date(value)


def test_chart_locale_matches_text_formats():
    number = d3_format_locale()
    assert number["thousands"] == NNBSP
    assert number["decimal"] == ","
    assert number["percent"] == f"{NBSP}%"
    assert number["minus"] == MINUS
    time = d3_time_format_locale()
    assert time["months"][11] == "décembre"
    assert time["shortMonths"][1] == "févr."
    assert time["days"][0] == "dimanche"


@pytest.mark.parametrize(("value", "digits", "expected"), [
    (1234567, 0, f"1{NNBSP}234{NNBSP}567{NBSP}€"),
    (12.5, 2, f"12,50{NBSP}€"),
    (0.125, 2, f"0,13{NBSP}€"),
    (999.5, 0, f"1{NNBSP}000{NBSP}€"),
])
def test_fr_euros(value, digits, expected):
    from mutualisation.formatting import fr_euros

    assert fr_euros(value, digits) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (12.5, f"12,5{NBSP}ETP"), (3, f"3{NBSP}ETP"), (0.25, f"0,25{NBSP}ETP"),
    (1000, f"1{NNBSP}000{NBSP}ETP"), (2.10, f"2,1{NBSP}ETP"),
])
def test_fr_etp(value, expected):
    from mutualisation.formatting import fr_etp

    assert fr_etp(value) == expected
