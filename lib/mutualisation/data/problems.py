"""Problems found in a data folder, and how messages quote the values they name.

Every problem names the file, the line (as a spreadsheet numbers it), the column and the
value; :class:`DataError` carries all of them, capped per file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from mutualisation.formatting import plural

#: How many problems of one file are listed before the rest are only counted.
MAX_PROBLEMS_PER_FILE = 20


#: How many characters of a value a message quotes before cutting it with « … ».
MAX_SHOWN = 40


# Characters a terminal does not show as themselves: controls, format characters
# (zero-width spaces, BOM) and line/paragraph separators.
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}


def shown(text: str, limit: int | None = MAX_SHOWN) -> str:
    """``text`` as a message quotes it: invisible characters escaped as Python would
    (``\\x00``, ``\\t``, ``\\u200b``), accents kept, cut after ``limit`` characters."""
    out: list[str] = []
    size = 0
    for char in text:
        piece = repr(char)[1:-1] if unicodedata.category(char) in _INVISIBLE else char
        if limit is not None and size + len(piece) > limit:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


@dataclass(frozen=True)
class Problem:
    """One problem found in the input, located as precisely as possible."""

    file: str
    message: str
    line: int | None = None
    column: str | None = None
    value: str | None = None

    def place(self) -> list[str]:
        """Where the problem is, before its column and value: the file, the line."""
        return [self.file] + ([f"ligne {self.line}"] if self.line is not None else [])

    def __str__(self) -> str:
        where = self.place()
        if self.column is not None:
            where.append(f"colonne « {shown(self.column)} »")
        if self.value is not None:
            where.append(f"valeur « {shown(self.value)} »")
        # Escaped again as a whole (not cut): a file name or a message quoting a header
        # must not break the one-line-per-problem output either.
        return shown(f"{', '.join(where)} : {self.message}", limit=None)


class DataError(Exception):
    """Bad input: carries every problem found, each printable on one line."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem, at most MAX_PROBLEMS_PER_FILE per file."""
        out: list[str] = []
        seen: dict[str, int] = {}
        order = {p.file: i for i, p in reversed(list(enumerate(self.problems)))}
        ordered = sorted(self.problems, key=lambda p: (order[p.file], p.line or 0))
        for problem in ordered:
            seen[problem.file] = seen.get(problem.file, 0) + 1
            if seen[problem.file] <= MAX_PROBLEMS_PER_FILE:
                out.append(str(problem))
        for file, count in seen.items():
            if count > MAX_PROBLEMS_PER_FILE:
                extra = count - MAX_PROBLEMS_PER_FILE
                others = plural(extra, "autre problème non affiché",
                                "autres problèmes non affichés")
                out.append(f"{shown(file, limit=None)} : … et {others}")
        return out
