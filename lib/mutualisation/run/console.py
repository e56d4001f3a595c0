"""What a command says while it runs: one line at a time, on standard error."""

from __future__ import annotations

import sys
from collections.abc import Callable

#: Where a run's progress and warnings go: one line each.
Log = Callable[[str], None]


def say(line: str) -> None:
    """Progress and warnings of a command, on standard error (standard output stays free
    for what a command prints as its result, such as ``check``'s summary)."""
    print(line, file=sys.stderr)
