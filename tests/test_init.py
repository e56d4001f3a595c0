"""``init_data_folder`` (issue 13): a data folder for any intercommunality from the official
reference shipped with the package, ready for ``check`` and ``report``; mergers in the
bilan; an empty schéma."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import fastexcel
import polars as pl
import pytest

from mutualisation.compute.bilan import Bilan
from mutualisation.config import DATA_DIR
from mutualisation.data import init as init_module
from mutualisation.data.init import InitError, init_data_folder
from mutualisation.data.parameters import Parameters
from mutualisation.data.reference import AmbiguousEpciError, UnknownEpciError
from mutualisation.data.validate import describe, load_dataset
from mutualisation.present import bilan_text

CHATAIGNERAIE, BORDEAUX, MEL_OLD, MEL = "248500415", "243300316", "245900410", "200093201"


def _communes(folder: Path) -> pl.DataFrame:
    return pl.read_csv(folder / "communes.csv", infer_schema=False)


def _members(communes: pl.DataFrame, day: str) -> set[str]:
    left = pl.col("date_sortie")
    return set(communes.filter(pl.col("date_adhesion") <= day,
                               left.is_null() | (left > day))["code_insee"])


@pytest.fixture(scope="module")
def chataigneraie(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("init") / "chataigneraie"
    init_data_folder(CHATAIGNERAIE, folder, schema_adopted=date(2019, 3, 1))
    return folder


# --------------------------------------------------------------------------- the folder


def test_old_siren_is_followed_and_agrees_with_the_mel_data(tmp_path: Path) -> None:
    result = init_data_folder(MEL_OLD, tmp_path / "mel")
    assert result.epci.siren == MEL
    assert any("245900410" in n and "200093201" in n for n in result.notes)
    ours, theirs = _communes(tmp_path / "mel"), pl.read_csv(DATA_DIR / "communes.csv",
                                                            infer_schema=False)
    assert dict(ours.select("code_insee", "nom").iter_rows()) == dict(
        theirs.select("code_insee", "nom").iter_rows())
    # On 1 January 2020 the MEL had its 90 communes (the CC de la Haute-Deûle joined in March).
    assert _members(ours, "2020-01-01") == _members(theirs, "2020-01-01")
    assert len(_members(ours, "2020-01-01")) == 90
    assert len(_members(ours, "2025-01-01")) == 95


def test_files_metadata_and_workbook(chataigneraie: Path) -> None:
    assert sorted(p.name for p in chataigneraie.iterdir()) == [
        "actions_participations.xlsx", "communes.csv", "communes.geojson", "metadata.json",
        "populations.csv"]
    # Every edition giving a population (2021 to 2025), for each of the 18 communes that
    # the DGCL lists in it (merged communes leave the later editions).
    populations = pl.read_csv(chataigneraie / "populations.csv", infer_schema=False)
    assert populations.columns == ["code_insee", "annee", "population"]
    assert sorted(set(populations["annee"])) == ["2021", "2022", "2023", "2024", "2025"]
    assert set(populations["code_insee"]) <= set(_communes(chataigneraie)["code_insee"])
    meta = json.loads((chataigneraie / "metadata.json").read_text(encoding="utf-8"))
    assert (meta["siren"], meta["type"], meta["schema_adopte_le"]) == (
        CHATAIGNERAIE, "CC", "2019-03-01")
    assert meta["annees"] == {"debut": 2019, "fin": 2025}
    assert meta["referentiel"]["epci"]["2025"]["paquet"].endswith("@5.3.0")
    book = fastexcel.read_excel(str(chataigneraie / "actions_participations.xlsx"))
    assert [s for s in book.sheet_names if s != "listes"] == ["actions", "participations",
                                                             "moyens"]
    geo = json.loads((chataigneraie / "communes.geojson").read_text(encoding="utf-8"))
    # The absorbed communes are drawn by their commune nouvelle.
    assert len(geo["features"]) == 14


def test_chataigneraie_two_mergers_not_four_withdrawals(chataigneraie: Path) -> None:
    communes = _communes(chataigneraie)
    assert communes.height == 18
    merged = communes.filter(pl.col("code_successeur").is_not_null())
    assert dict(merged.select("code_insee", "code_successeur").iter_rows()) == {
        "85037": "85289", "85053": "85289", "85041": "85292", "85271": "85292"}
    assert set(merged["date_sortie"]) == {"2023-01-01", "2024-01-01"}
    assert set(communes["adhesion_borne_inferieure"]) == {"oui"}
    assert len(_members(communes, "2019-12-31")) == 18
    assert len(_members(communes, "2025-12-31")) == 14
    for year, new, old in ((2023, "Terval", "Breuil-Barret et La Chapelle-aux-Lys"),
                           (2024, "Rives-du-Fougerais", "Cezais et Saint-Sulpice-en-Pareds")):
        text = bilan_text.changes_text(Bilan.build(chataigneraie, year))
        assert f"{new} naît de la fusion de {old} avec la commune dont elle garde le code" in text
        assert "quitte" not in text.replace("ne quitte l’intercommunalité", "")
        assert "2 communes absorbées par une fusion, sans qu’aucune commune ne quitte" in text


def test_bordeaux_is_stable(tmp_path: Path) -> None:
    result = init_data_folder(BORDEAUX, tmp_path / "bdx")
    communes = _communes(tmp_path / "bdx")
    assert (result.communes, result.members, communes.height) == (28, 28, 28)
    assert communes["date_sortie"].null_count() == 28
    assert result.lines[0].startswith("Intercommunalité : Bordeaux Métropole (SIREN 243300316")


def test_name_search_ignores_case_and_accents(tmp_path: Path) -> None:
    result = init_data_folder("cc du PAYS de la chataigneraie", tmp_path / "c")
    assert result.epci.siren == CHATAIGNERAIE


def test_ambiguous_and_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(AmbiguousEpciError) as err:
        init_data_folder("Communauté de communes Cœur de", tmp_path / "a")
    assert "CC Coeur de France (SIREN 200036135, CC, département 18)" in str(err.value)
    assert len(err.value.candidates) > 1
    with pytest.raises(UnknownEpciError, match="proches? : CC du Pays de la Châtaigneraie"):
        init_data_folder("Pays de la Chataigneraie-sur-Mer", tmp_path / "u")
    assert not (tmp_path / "a").exists() and not (tmp_path / "u").exists()


def test_never_overwrites_without_force_and_appears_whole(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "mine.csv").write_text("x\n")
    with pytest.raises(InitError, match="existe déjà"):
        init_data_folder(BORDEAUX, folder)
    assert [p.name for p in folder.iterdir()] == ["mine.csv"]

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(init_module, "write_template", broken)
    with pytest.raises(InitError, match="disque plein"):
        init_data_folder(BORDEAUX, folder, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # nothing left beside it
    assert [p.name for p in folder.iterdir()] == ["mine.csv"]
    monkeypatch.undo()
    init_data_folder(BORDEAUX, folder, force=True)
    assert not (folder / "mine.csv").exists() and (folder / "communes.csv").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


# --------------------------------------------------------------------------- check and report


def _with_actions(folder: Path, target: Path) -> Path:
    """The init folder with two actions and four participations, as CSV files."""
    target.mkdir()
    for name in ("communes.csv", "communes.geojson", "metadata.json"):
        (target / name).write_bytes((folder / name).read_bytes())
    (target / "actions.csv").write_text(
        "action_id,libelle,date_inscription,date_deploiement\n"
        "CAM,Centrale d'achats,2019-03-01,2019-06-01\nRGPD,Service RGPD,2019-03-01,2019-06-01\n")
    (target / "participations.csv").write_text(
        "code_insee,action_id,date_debut\n85037,CAM,2019-06-01\n85053,CAM,2020-01-01\n"
        "85289,RGPD,2019-06-01\n85041,RGPD,2021-01-01\n85271,CAM,2024-02-01\n")
    return target


def test_check_explains_participations_under_absorbed_codes(chataigneraie: Path,
                                                            tmp_path: Path) -> None:
    text = describe(load_dataset(_with_actions(chataigneraie, tmp_path / "d")))
    assert "01/01/2023 : Breuil-Barret (85037), La Chapelle-aux-Lys (85053) → Terval (85289)" \
        in text
    assert "participation de Breuil-Barret (85037) à CAM : reprise par Terval (85289) dès le " \
        "01/01/2023" in text
    assert "participation de Cezais (85041) à RGPD : reprise par Rives-du-Fougerais (85292)" \
        in text
    assert ("attention : participation de Saint-Sulpice-en-Pareds (85271) à CAM commencée le "
            "01/02/2024, après sa fusion du 01/01/2024 : ignorée ; l'inscrire sous le code de "
            "Rives-du-Fougerais (85292)") in text


def test_indicators_carry_participations_over(chataigneraie: Path, tmp_path: Path) -> None:
    folder = _with_actions(chataigneraie, tmp_path / "d")
    # Hand-worked: 2022, 18 members, CAM 85037 85053, RGPD 85289 85041. 2023: Terval takes
    # CAM over (once), 16 members; 2024: Rives-du-Fougerais takes RGPD from Cezais, 14.
    expected = {
        2022: (18, {"CAM": 2, "RGPD": 2}, {"1": 4, "2": 0}, {"1": 0.2222, "2": 0.0}),
        2023: (16, {"CAM": 1, "RGPD": 2}, {"1": 2, "2": 1}, {"1": 0.125, "2": 0.0625}),
        2024: (14, {"CAM": 1, "RGPD": 2}, {"1": 2, "2": 1}, {"1": 0.1429, "2": 0.0714}),
    }
    for year, (members, by_action, at_least, shares) in expected.items():
        figures = Bilan.build(folder, year, [1, 2]).indicators
        assert figures["communes_membres"] == members
        assert figures["participations_par_action"] == by_action
        assert figures["communes_participantes"] == at_least
        assert figures["part_communes_participantes"] == shares


def test_report_end_to_end_with_mergers(chataigneraie: Path, tmp_path: Path) -> None:
    from mutualisation.run.report import run_report

    folder = _with_actions(chataigneraie, tmp_path / "d")
    out = run_report(Parameters.checked(folder, 2023), tmp_path / "out", pdf=False)
    figures = json.loads((out / "indicators.json").read_text(encoding="utf-8"))
    assert (figures["communes_membres"], figures["participations_par_action"]) == (
        16, {"CAM": 1, "RGPD": 2})
    page = (out / "bilan.html").read_text(encoding="utf-8")
    assert "Terval naît de la fusion de Breuil-Barret et La Chapelle-aux-Lys" in page
    assert "passe de 18 à 16" in page
    assert (out / "figures" / "carte.svg").is_file()
    movements = pl.read_csv(out / "tables" / "mouvements.csv")
    assert movements["mouvement"].to_list() == ["fusion", "fusion"]


def test_report_on_an_empty_schema(tmp_path: Path) -> None:
    from mutualisation.run.report import run_report

    folder = tmp_path / "vide"
    init_data_folder(CHATAIGNERAIE, folder)
    assert re.search(r"actions +: 0 \(actions_participations.xlsx", describe(load_dataset(folder)))
    out = run_report(Parameters.checked(folder), tmp_path / "out", pdf=False)
    assert out.name == "2025"
    page = (out / "bilan.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", page)
    assert "Aucune action inscrite au 31 décembre 2025" in text
    assert "Les 14 communes membres ne participent encore à aucune action" in text
    assert "<svg" not in page
    assert list((out / "figures").iterdir()) == []
    figures = json.loads((out / "indicators.json").read_text(encoding="utf-8"))
    assert (figures["communes_membres"], figures["actions_inscrites"]) == (14, 0)
