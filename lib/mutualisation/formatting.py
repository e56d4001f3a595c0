"""French formats for numbers and dates shown to readers of the bilan.

Everything comes from Babel's CLDR data for the ``fr_FR`` locale; nothing here
hard-codes a thousands separator. What Babel 2.19 gives (and what the tests
pin):

- thousands separator: U+202F NARROW NO-BREAK SPACE (``fr_int(1234)`` is
  ``"1\\u202f234"``, displayed "1 234");
- decimal separator: a comma (``"1\\u202f234,5"``);
- percent sign: preceded by U+00A0 NO-BREAK SPACE (``"96\\u00a0%"``), from the
  CLDR pattern ``#,##0 %``.

Choices made here, on top of Babel:

- **Rounding** is half up on the decimal value as written (``0.125`` ->
  ``"13 %"``, ``2.25`` -> ``"2,3"``), the rule a reader expects and the one
  :mod:`mutualisation.compute.indicators` uses; Babel itself would round half to even.
  A result that rounds to zero never shows a sign (``-0.04`` -> ``"0,0"``).
- **Negative numbers** use the real minus sign U+2212 ("−2"), as French
  typography asks and as Vega writes them on chart axes; Babel gives a
  hyphen-minus.
- :func:`fr_signed_int` writes ``"+3"``, ``"−2"`` and ``"0"``: no change has no
  sign.
- :func:`fr_date` writes the first day of a month as "1er" ("1er janvier 2020"),
  as French usage requires; other days are plain numbers ("31 décembre 2019").
- :func:`plural` follows French grammar: 0 and 1 take the singular
  ("0 action", "1 action"), 2 and more the plural.

:func:`d3_format_locale` gives the same conventions to Vega/Altair charts
(see :mod:`mutualisation.present.charts`), so that a number reads the same in the
text, the tables and the figures.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from numbers import Integral, Real
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol

#: The Babel locale used for every format.
LOCALE = Locale.parse("fr_FR")

#: The minus sign written before negative numbers (U+2212, not a hyphen).
MINUS = "\u2212"

#: The plus sign of :func:`fr_signed_int`.
PLUS = "+"

#: Babel's thousands separator for French (U+202F NARROW NO-BREAK SPACE).
GROUP_SEPARATOR = get_group_symbol(LOCALE)

#: Babel's decimal separator for French (a comma).
DECIMAL_SEPARATOR = get_decimal_symbol(LOCALE)

#: What follows the number in a French percentage, taken from Babel's pattern
#: ``#,##0 %`` (U+00A0 NO-BREAK SPACE then ``%``).
PERCENT_SUFFIX = LOCALE.percent_formats[None].pattern.split("0")[-1]


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _check_real(value: object, name: str = "value") -> Decimal:
    """``value`` as an exact Decimal of its shortest repr; TypeError/ValueError if unusable."""
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if isinstance(value, Integral):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        number = value
    else:
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be finite, got {value!r}")
        number = Decimal(repr(float(value)))  # 0.1 -> Decimal("0.1"), not 0.1000000000000000055
    if not number.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def _check_digits(digits: object) -> int:
    if isinstance(digits, bool) or not isinstance(digits, Integral) or digits < 0:
        raise ValueError(f"digits must be a non-negative integer, got {digits!r}")
    return int(digits)


def _round(number: Decimal, digits: int) -> Decimal:
    """``number`` rounded half up to ``digits`` places; never a negative zero."""
    rounded = number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return abs(rounded) if rounded == 0 else rounded


def _pattern(digits: int) -> str:
    """Babel number pattern with grouping and exactly ``digits`` decimals."""
    return "#,##0" + ("." + "0" * digits if digits else "")


def _format(number: Decimal, digits: int) -> str:
    """Babel's French format of an already rounded number, with the real minus sign."""
    text = format_decimal(number, format=_pattern(digits), locale=LOCALE)
    return text.replace("-", MINUS)


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------


def fr_int(n: int) -> str:
    """An integer in French: ``1234`` -> ``"1\\u202f234"`` ("1 234"), ``-5`` -> ``"−5"``.

    Floats are accepted when they hold a whole number (``12.0``); anything else
    raises ValueError (use :func:`fr_decimal`).
    """
    number = _check_real(n, "n")
    if number != number.to_integral_value():
        raise ValueError(f"fr_int expects a whole number, got {n!r}")
    return _format(_round(number, 0), 0)


def fr_decimal(x: float, digits: int = 1) -> str:
    """A number with exactly ``digits`` decimals: ``1234.5`` -> ``"1\\u202f234,5"``.

    Rounded half up: ``fr_decimal(2.25)`` is ``"2,3"``.
    """
    digits = _check_digits(digits)
    return _format(_round(_check_real(x, "x"), digits), digits)


def fr_percent(share: float, digits: int = 0) -> str:
    """A share (a fraction of 1) as a French percentage.

    ``0.9556`` -> ``"96\\u00a0%"`` ("96 %"); with ``digits=1``, ``"95,6\\u00a0%"``.
    """
    digits = _check_digits(digits)
    percent = _round(_check_real(share, "share").scaleb(2), digits)
    return _format(percent, digits) + PERCENT_SUFFIX


def fr_signed_int(n: int) -> str:
    """An integer change with its sign: ``"+3"``, ``"−2"`` (U+2212), and ``"0"`` for no change."""
    text = fr_int(n)
    return PLUS + text if _check_real(n, "n") > 0 else text


def agree(n: float, singular: str, plural: str) -> str:
    """The form of a word that agrees with the number ``n``, without the number:
    ``agree(1, "déployée", "déployées")`` is ``"déployée"``.

    French grammar: below 2 the singular (0, 1, 1,5: « 0 action », « 1,5 action »), from 2
    on the plural (negative numbers follow their absolute value). The one rule of every
    text that counts, through :func:`plural` or this function.
    """
    return singular if abs(_check_real(n, "n")) < 2 else plural


def plural(n: float, singular: str, plural: str, decimals: int | None = None) -> str:
    """``n`` in French followed by the right form: ``"1 action"``, ``"25 actions"``.

    See :func:`agree` for the rule. ``decimals``: ``n`` is written with that many decimals
    (a mean: ``"0,8 action"``, ``"2,4 actions"``), the form agreeing with what is written.
    """
    if decimals is None:
        return f"{fr_int(n)} {agree(n, singular, plural)}"
    shown = round(_check_real(n, "n"), decimals)
    return f"{fr_decimal(n, decimals)} {agree(shown, singular, plural)}"


#: Between an amount and its unit (€, ETP): a no-break space, as before « % ».
UNIT_SPACE = "\u00a0"


def fr_euros(x: float, digits: int = 0) -> str:
    """An amount in euros: ``1234567`` -> ``"1\u202f234\u202f567\u00a0€"`` ("1 234 567 €");
    with ``digits=2``, cents: ``"12,50 €"``. Rounded half up."""
    return fr_decimal(x, digits) + UNIT_SPACE + "€"


def fr_etp(x: float) -> str:
    """Full-time equivalents with at most two decimals, trailing zeros dropped:
    ``12.5`` -> ``"12,5 ETP"``, ``3`` -> ``"3 ETP"``, ``0.25`` -> ``"0,25 ETP"``."""
    text = fr_decimal(x, 2)
    if DECIMAL_SEPARATOR in text:
        text = text.rstrip("0").rstrip(DECIMAL_SEPARATOR)
    return text + UNIT_SPACE + "ETP"


# --------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------


def _check_date(d: object) -> dt.date:
    if not isinstance(d, dt.date):
        raise TypeError(f"expected a date, got {d!r}")
    return d.date() if isinstance(d, dt.datetime) else d


def fr_date(d: dt.date) -> str:
    """A date in words: ``"31 décembre 2019"``, ``"1er janvier 2020"``."""
    day = _check_date(d)
    text = format_date(day, format="d MMMM y", locale=LOCALE)
    return "1er" + text[1:] if day.day == 1 else text


def fr_month_year(d: dt.date) -> str:
    """Month and year, lower case as in French running text: ``"décembre 2019"``."""
    return format_date(_check_date(d), format="MMMM y", locale=LOCALE)


# --------------------------------------------------------------------------
# The same conventions for charts
# --------------------------------------------------------------------------


def d3_format_locale() -> dict[str, Any]:
    """The number locale of d3-format (used by Vega) matching the functions above.

    d3's own ``fr-FR`` locale differs from Babel's: it separates thousands with
    U+00A0 and puts U+202F before ``%``, the other way round. This dictionary
    uses Babel's symbols and the U+2212 minus, so charts and text agree.
    """
    return {
        "decimal": DECIMAL_SEPARATOR,
        "thousands": GROUP_SEPARATOR,
        "grouping": [3],
        "currency": ["", "\u00a0€"],
        "percent": PERCENT_SUFFIX,
        "minus": MINUS,
    }


def d3_time_format_locale() -> dict[str, Any]:
    """The time locale of d3-time-format (used by Vega) in French, names from Babel."""
    months = LOCALE.months["format"]
    days = LOCALE.days["format"]
    # Babel numbers weekdays from Monday (0); d3 lists them from Sunday.
    order = [6, 0, 1, 2, 3, 4, 5]
    return {
        "dateTime": "%A %e %B %Y à %X",
        "date": "%d/%m/%Y",
        "time": "%H:%M:%S",
        "periods": ["AM", "PM"],
        "days": [days["wide"][i] for i in order],
        "shortDays": [days["abbreviated"][i] for i in order],
        "months": [months["wide"][i] for i in range(1, 13)],
        "shortMonths": [months["abbreviated"][i] for i in range(1, 13)],
    }


# ------------------------------------------------------------------ French sorting

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})


def sort_key(text: str) -> tuple[str, str]:
    """A key sorting French names as a dictionary does, without ICU.

    Accents and ligatures are ignored first (É with E, Œ as OE), case too; the
    original text breaks ties, so the order is total and deterministic.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.casefold(), text


def french_sorted(values: Iterable[str]) -> list[str]:
    """Distinct ``values`` in French dictionary order (see :func:`sort_key`)."""
    return sorted(set(values), key=sort_key)
