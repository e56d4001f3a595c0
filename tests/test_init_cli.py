"""End-to-end: `mutualisation init` from the shipped reference, then `check` and `report`,
offline, as a newcomer runs them."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from mutualisation.config import DATA_DIR
from tests.test_report import cli


def test_init_then_check_then_report_offline(tmp_path: Path) -> None:
    data, out = tmp_path / "chataigneraie", tmp_path / "sorties"
    made = cli("init", "--epci", "248500415", "--data", str(data),
               "--schema-adopte-le", "01/03/2019")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("Intercommunalité : CC du Pays de la Châtaigneraie "
                                  "(SIREN 248500415, CC, département 85).\n")
    assert "Étape suivante" in made.stdout
    assert sorted(p.name for p in data.iterdir()) == [
        "actions_participations.xlsx", "communes.csv", "communes.geojson", "metadata.json",
        "populations.csv"]
    meta = json.loads((data / "metadata.json").read_text(encoding="utf-8"))
    assert meta["siren"] == "248500415"
    communes = pl.read_csv(data / "communes.csv", infer_schema=False)
    absorbed = communes.filter(pl.col("code_successeur").is_not_null())
    assert sorted(absorbed["code_insee"]) == ["85037", "85041", "85053", "85271"]

    checked = cli("check", "--data", str(data))
    assert checked.returncode == 0, checked.stderr
    assert "01/01/2023 : Breuil-Barret (85037), La Chapelle-aux-Lys (85053) → Terval (85289)" \
        in checked.stdout

    reported = cli("report", "--data", str(data), "--out", str(out))
    assert reported.returncode == 0, reported.stderr
    figures = json.loads((out / "2025" / "indicators.json").read_text(encoding="utf-8"))
    assert (figures["communes_membres"], figures["actions_inscrites"]) == (14, 0)
    manifest = json.loads((out / "2025" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["referentiel"] == meta["referentiel"]  # the reference's editions
    page = (out / "2025" / "bilan.html").read_text(encoding="utf-8")
    assert "Aucune action n’est inscrite au schéma au 31 décembre 2025" in page


def test_an_old_siren_is_followed_and_said(tmp_path: Path) -> None:
    made = cli("init", "--epci", "245900410", "--data", str(tmp_path / "mel"))
    assert made.returncode == 0, made.stderr
    assert "Métropole Européenne de Lille (SIREN 200093201" in made.stdout
    assert "245900410" in made.stdout


def test_an_ambiguous_name_lists_its_candidates_and_writes_nothing(tmp_path: Path) -> None:
    made = cli("init", "--epci", "chataigneraie", "--data", str(tmp_path / "d"))
    assert made.returncode == 2
    assert made.stderr.splitlines() == [
        "--epci : « chataigneraie » désigne 2 intercommunalités :",
        "  CC de la Châtaigneraie Cantalienne (SIREN 200066678, CC, département 15)",
        "  CC du Pays de la Châtaigneraie (SIREN 248500415, CC, département 85)",
    ]
    assert not (tmp_path / "d").exists()


def test_a_long_list_of_candidates_is_cut(tmp_path: Path) -> None:
    made = cli("init", "--epci", "métropole", "--data", str(tmp_path / "d"))
    assert made.returncode == 2
    lines = made.stderr.splitlines()
    assert lines[0].startswith("--epci : « métropole » désigne ")
    assert len(lines) == 22 and lines[-1].startswith("  … et ")


def test_unknown_name_bad_date_and_existing_folder_are_one_line(tmp_path: Path) -> None:
    unknown = cli("init", "--epci", "zzz", "--data", str(tmp_path / "d"))
    assert (unknown.returncode, unknown.stderr) == (
        2, "--epci : aucune intercommunalité ne s'appelle « zzz ».\n")
    bad_date = cli("init", "--epci", "243300316", "--data", str(tmp_path / "d"),
                   "--schema-adopte-le", "31/02/2019")
    assert (bad_date.returncode, bad_date.stderr) == (
        2, "--schema-adopte-le : date invalide : « 31/02/2019 » (attendu JJ/MM/AAAA ou "
           "AAAA-MM-JJ)\n")
    folder = tmp_path / "occupe"
    folder.mkdir()
    (folder / "notes.txt").write_text("à garder", encoding="utf-8")
    refused = cli("init", "--epci", "243300316", "--data", str(folder))
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"Le dossier {folder} existe déjà et n'est pas vide")
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    replaced = cli("init", "--epci", "243300316", "--data", str(folder), "--force")
    assert replaced.returncode == 0, replaced.stderr
    assert not (folder / "notes.txt").exists() and (folder / "communes.csv").is_file()


def test_init_then_import_then_check(tmp_path: Path) -> None:
    """The two first steps of a new intercommunality: the folder from the reference, then
    its follow-up spreadsheet; the workbook's empty sheets give way to the files."""
    data = tmp_path / "mel"
    assert cli("init", "--epci", "200093201", "--data", str(data)).returncode == 0
    actions = (DATA_DIR / "actions.csv").read_text(encoding="utf-8")
    (data / "actions.csv").write_text(actions, encoding="utf-8")
    sheet = tmp_path / "suivi.csv"
    sheet.write_text("Commune;CAM\nLille;X\nRoubaix;15/03/2020\n", encoding="cp1252")
    imported = cli("import", str(sheet), "--data", str(data))
    assert imported.returncode == 0, imported.stderr
    checked = cli("check", "--data", str(data))
    assert checked.returncode == 0, checked.stderr
    assert "participations  : 2 (participations.csv" in checked.stdout
    assert "actions         : 37 (actions.csv" in checked.stdout
