"""The ``mutualisation`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .loading import DataError, describe, load_dataset
from .paths import DATA_DIR

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Bilan du schéma de mutualisation : contrôle des données et rapports annuels.",
)

DataOption = Annotated[
    Path, typer.Option("--data", help="Dossier des tables communes, actions, participations.")
]


def fail(lines: list[str], code: int = 2) -> None:
    """Print problems on standard error, one per line, and exit without a traceback."""
    for line in lines:
        print(line, file=sys.stderr)
    raise typer.Exit(code)


@app.command()
def check(data: DataOption = DATA_DIR) -> None:
    """Valide un dossier de données et en affiche le résumé."""
    try:
        dataset = load_dataset(data)
    except DataError as err:
        fail(err.lines())
    print(describe(dataset))


@app.callback()
def main() -> None:
    """Bilan du schéma de mutualisation."""
