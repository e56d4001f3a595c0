"""``mutualisation import`` end to end (issue 14): the command line on small data sets
made here, as an analyst runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import test_followup
from tests.test_followup import messy, workbook
from tests.test_report import cli

OUTPUTS = ("participations.csv", "rapport_import.txt")
#: The data folder of the import tests (communes and actions, no participations yet).
folder = test_followup.folder


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_messy_matrix_imports_and_the_folder_then_passes_check(folder: Path,
                                                                 tmp_path: Path) -> None:
    result = cli("import", messy(tmp_path), "--data", folder)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    report = (folder / "rapport_import.txt").read_text(encoding="utf-8")
    # The conversion report is printed, then where the files went.
    assert result.stdout == report + (f"Écrits : {folder / 'participations.csv'} et "
                                      f"{folder / 'rapport_import.txt'}\n")
    assert "Participations écrites : 14" in report
    assert "Colonnes ignorées : F « Total », G « Observations »" in report
    check = cli("check", "--data", folder)
    assert check.returncode == 0, check.stderr
    assert "participations  : 14 (participations.csv, encodage : UTF-8)" in check.stdout


def test_a_second_run_needs_force_and_gives_the_same_bytes(folder: Path,
                                                           tmp_path: Path) -> None:
    source = messy(tmp_path)
    assert cli("import", source, "--data", folder).returncode == 0
    first = contents(folder)
    again = cli("import", source, "--data", folder)
    assert again.returncode == 2
    assert again.stdout == ""
    assert again.stderr == (f"{folder / 'participations.csv'} : existe déjà : --force pour le "
                            "remplacer\n")
    assert contents(folder) == first
    forced = cli("import", source, "--data", folder, "--force")
    assert forced.returncode == 0, forced.stderr
    assert contents(folder) == first  # byte-identical, and no staging file left


def test_an_unknown_name_is_one_line_with_suggestions_and_nothing_is_written(
        folder: Path, tmp_path: Path) -> None:
    source = workbook(tmp_path / "suivi.xlsx", [
        ["Suivi des conventions"], [None],
        ["Commune", "CAM", "RGPD"],
        ["Lille", "X", "X"],
        ["Marc en Bareuil", "X", None],
    ])
    before = contents(folder)
    result = cli("import", source, "--data", folder)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 2
    assert result.stderr.splitlines()[1] == (
        f"{folder / 'correspondances.csv'} : pour un nom que la normalisation ne suffit pas à "
        "reconnaître : une ligne « ecrit,code » (code INSEE, action_id, ou « ignorer »), relue "
        "à chaque import")
    line = result.stderr.splitlines()[0]
    assert line.startswith("suivi.xlsx (feuille « Suivi »), cellule A5, valeur « Marc en "
                           "Bareuil » : commune inconnue (plus proches : Marcq-en-Barœul (59378)")
    assert line.endswith("; sinon l'ajouter à correspondances.csv")
    assert "Traceback" not in result.stderr
    assert contents(folder) == before
    # The mapping file settles it, and is read again at the next import.
    (folder / "correspondances.csv").write_text("ecrit;code\nMarc en Bareuil;59378\n",
                                                encoding="cp1252")
    settled = cli("import", source, "--data", folder)
    assert settled.returncode == 0, settled.stderr
    assert "Communes reconnues : 2 (1 à l'identique, 1 par correspondances.csv)" in settled.stdout


def test_bad_input_is_one_line_naming_file_sheet_cell_and_value(folder: Path,
                                                                tmp_path: Path) -> None:
    rows: list[list[object]] = [["Commune", "CAM", "AST", "RGPD"]]
    rows += [[None, None, None, None]] * 9
    rows += [["Lille", "X", None, "bientôt"]]
    source = workbook(tmp_path / "suivi.xlsx", rows, sheet="2019")
    result = cli("import", source, "--data", folder, "--feuille", "2019")
    assert result.returncode == 2
    assert result.stderr == (
        "suivi.xlsx (feuille « 2019 »), cellule D11, colonne « RGPD », valeur « bientôt » : "
        "valeur non reconnue (attendu X, oui, 1 ou ✓, une date (JJ/MM/AAAA ou AAAA-MM-JJ), "
        "une année ou rien)\n")
    wrong_sheet = cli("import", source, "--data", folder, "--feuille", "2020")
    assert wrong_sheet.returncode == 2
    assert wrong_sheet.stderr == ("suivi.xlsx : feuille « 2020 » introuvable (feuilles du "
                                  "classeur : « 2019 »)\n")
    bad_date = cli("import", source, "--data", folder, "--date-par-defaut", "bientôt")
    assert bad_date.returncode == 2
    assert bad_date.stderr.splitlines()[0] == (
        "--date-par-defaut, valeur « bientôt » : date illisible (attendu JJ/MM/AAAA, "
        "AAAA-MM-JJ ou une année)")
    missing = cli("import", tmp_path / "absent.xlsx", "--data", folder)
    assert (missing.returncode, missing.stderr) == (
        2, f"{tmp_path / 'absent.xlsx'} : fichier à importer introuvable\n")
    no_folder = cli("import", source, "--data", tmp_path / "nulle-part")
    assert (no_folder.returncode, no_folder.stderr) == (
        2, f"{tmp_path / 'nulle-part'} : dossier de données introuvable\n")
    assert not (folder / "participations.csv").exists()


def test_help_is_in_french() -> None:
    result = cli("import", "--help")
    assert result.returncode == 0
    for text in ("FICHIER", "--data", "--feuille", "--force", "--date-par-defaut",
                 "Tableau de suivi", "rapport_import.txt"):
        assert text in result.stdout, text
    assert "import" in cli("--help").stdout


@pytest.mark.parametrize(("sheet", "message"), [
    ("Commune,Inconnue\nAlpha,X\n",
     "s.csv, cellule B1, valeur « Inconnue » : action (en-tête) inconnue"),
    ("Commune,Total\nAlpha,1\n",
     "s.csv, ligne 1 : aucune colonne d'action reconnue : les en-têtes doivent être des "
     "action_id ou des libellés de la table actions"),
])
def test_a_matrix_without_a_known_action_is_one_line_not_a_traceback(
        folder: Path, tmp_path: Path, sheet: str, message: str) -> None:
    source = tmp_path / "s.csv"
    source.write_text(sheet, encoding="utf-8")
    before = contents(folder)
    result = cli("import", source, "--data", folder)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(message)
    assert contents(folder) == before
