"""The reach of Bordeaux Métropole's mutualisation in 2017, from a folder made by
``mutualisation init --epci 243300316 --membres-depuis 2015-01-01`` (DGCL, 28 communes).

Cycle 1 (1 January 2016) and cycle 2 (1 January 2017) of its services communs, as the
métropole published them: 18 communes out of 28 in 2017. The population share is pinned
against a hand computation from the folder's own populations: its ``populations.csv`` starts
in 2021, so 2017 takes the ``population`` column of ``communes.csv``.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import fastexcel
import pytest

CYCLE_1 = ["Ambarès-et-Lagrave", "Ambès", "Bègles", "Blanquefort", "Bordeaux", "Bruges",
           "Floirac", "Le Bouscat", "Le Taillan-Médoc", "Lormont", "Mérignac", "Pessac",
           "Saint-Aubin-de-Médoc", "Saint-Louis-de-Montferrand", "Saint-Vincent-de-Paul"]
CYCLE_2 = ["Carbon-Blanc", "Le Haillan", "Parempuyre"]


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mutualisation", *map(str, args)],
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def bordeaux(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("bordeaux")
    data, out = base / "data", base / "out"
    result = cli("init", "--epci", "243300316", "--membres-depuis", "2015-01-01",
                 "--data", data)
    assert result.returncode == 0, result.stderr
    with (data / "communes.csv").open(encoding="utf-8") as f:
        codes = {row["nom"]: row["code_insee"] for row in csv.DictReader(f)}
    (data / "actions.csv").write_text(
        "action_id,libelle,date_inscription,date_deploiement,forme_juridique\n"
        "SC,Services communs,2015-05-29,2016-01-01,service commun\n", encoding="utf-8")
    rows = [f"{codes[n]},SC,2016-01-01" for n in CYCLE_1]
    rows += [f"{codes[n]},SC,2017-01-01" for n in CYCLE_2]
    (data / "participations.csv").write_text(
        "code_insee,action_id,date_debut\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = cli("report", "--year", "2017", "--data", data, "--out", out)
    assert result.returncode == 0, result.stderr
    return data, out / "2017"


def hand_share(data: Path) -> tuple[int, int]:
    """Population of the 18 communes and of the 28 members, from communes.csv (2017 is
    before the first year of populations.csv)."""
    with (data / "populations.csv").open(encoding="utf-8") as f:
        assert min(int(row["annee"]) for row in csv.DictReader(f)) > 2017
    with (data / "communes.csv").open(encoding="utf-8") as f:
        population = {row["nom"]: int(row["population"]) for row in csv.DictReader(f)}
    assert len(population) == 28
    return sum(population[n] for n in CYCLE_1 + CYCLE_2), sum(population.values())


def test_2017_says_18_of_28_and_the_population_share(bordeaux) -> None:
    data, report = bordeaux
    figures = json.loads((report / "indicators.json").read_text(encoding="utf-8"))
    reached, total = hand_share(data)
    assert figures["communes_membres"] == 28
    assert figures["communes_participantes"]["1"] == 18
    assert figures["population_membres"] == total
    assert figures["population_communes_participantes"]["1"] == reached
    # Rounded half up to 4 decimals, like every share.
    expected = int(reached * 20000 // total + 1) // 2 / 10000
    assert figures["part_population_communes_participantes"]["1"] == expected
    assert figures["actions_par_forme_juridique"] == {
        "service commun": {"actions_inscrites": 1, "actions_deployees": 1, "communes": 18,
                           "population": reached}}
    page = (report / "bilan.html").read_text(encoding="utf-8")
    percent = f"{int(reached * 100 // total)}\u00a0%"
    assert f"18 communes sur 28, représentant {percent} de la population" in page
    assert "Formes de mutualisation" in page
    assert "1er janvier 2015 (mutualisation init --membres-depuis)" in page
    # The same figures in the workbook and the tables.
    book = fastexcel.read_excel(str(report / "bilan.xlsx"))
    assert "Formes juridiques" in book.sheet_names
    forms = book.load_sheet("Formes juridiques").to_polars()
    assert forms.row(0) == ("service commun", 1, 1, 18, reached)
    with (report / "tables" / "formes_juridiques.csv").open(encoding="utf-8") as f:
        assert list(csv.reader(f))[1] == ["service commun", "1", "1", "18", str(reached)]


def test_membres_depuis_refused_after_first_edition(tmp_path: Path) -> None:
    result = cli("init", "--epci", "243300316", "--membres-depuis", "2019-06-01",
                 "--data", tmp_path / "d")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "--membres-depuis : le 1er juin 2019 est postérieur au premier millésime du "
        "référentiel (1er janvier 2019), où ses communes sont déjà membres : donner une date "
        "au plus tard le 1er janvier 2019.")
    assert not (tmp_path / "d").exists()
