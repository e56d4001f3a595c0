"""Revised figures: a bilan re-run over earlier reports after the data changed says which
earlier figures moved, from what to what, and which data change explains it; every report
folder keeps its data and describes it in a Data Package that frictionless validates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mutualisation.compute import indicators, population
from mutualisation.compute.bilan import Bilan
from mutualisation.compute.changes import compare
from mutualisation.compute.revisions import (
    DATA,
    DEFINITION,
    UNKNOWN,
    Published,
    relevant,
    revisions,
    shown_by_year,
)
from mutualisation.data.snapshot import located_tables
from mutualisation.data.validate import load_dataset
from mutualisation.present.revisions_text import revisions_text
from tests.conftest import PARTICIPATIONS, write_folder
from tests.test_report import cli

# Alpha's RGPD start moves from 2016-03-01 to 2017-03-01 (participations.csv, line 3). At
# 31/12/2016 Alpha then has CAM only: 1 active participation instead of 2 (Beta left CAM in
# June 2016), no commune in 2 actions instead of 1 (share 0.5 -> 0.0), and so no population
# in 2 actions (Alpha's 1 200 of the members' 2 000: 0.6 -> 0.0; the key-figure table shows
# the shares of population of the year before). 2015 is untouched (RGPD was not deployed
# yet), and the change is in the past of 2017.
MOVED = PARTICIPATIONS.replace("59001,RGPD,2016-03-01", "59001,RGPD,2017-03-01")
CHANGE = ("participation modifiée — participations.csv, ligne 3 : Alpha, RGPD : "
          "date_debut 2016-03-01 → 2017-03-01")
EXPECTED = [
    {"annee": 2015, "indicateur": "communes_membres", "publie": 3, "nouveau": 2,
     "cause": DEFINITION, "changements": []},
    {"annee": 2016, "indicateur": "participations_actives", "publie": 2, "nouveau": 1,
     "cause": DATA, "changements": [CHANGE]},
    {"annee": 2016, "indicateur": "communes_participantes.2", "publie": 1, "nouveau": 0,
     "cause": DATA, "changements": [CHANGE]},
    {"annee": 2016, "indicateur": "part_communes_participantes.2", "publie": 0.5,
     "nouveau": 0.0, "cause": DATA, "changements": [CHANGE]},
    {"annee": 2016, "indicateur": "part_population_communes_participantes.2", "publie": 0.6,
     "nouveau": 0.0, "cause": DATA, "changements": [CHANGE]},
]


def _indicators(folder: Path) -> dict:
    return json.loads((folder / "indicators.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def revised(tmp_path_factory) -> tuple[Path, Path]:
    """Reports 2015 to 2017 of the small data set, then the data changed and 2017 re-run;
    the published 2015 figure of members is altered by hand (as if its definition had
    changed since: no data change explains it)."""
    base = tmp_path_factory.mktemp("revisions")
    data = write_folder(base / "data")
    out = base / "out"
    first = cli("report", "--all-years", "--data", data, "--out", out)
    assert first.returncode == 0, first.stderr
    published = out / "2015" / "indicators.json"
    figures = _indicators(out / "2015")
    published.write_text(json.dumps({**figures, "communes_membres": 3}), encoding="utf-8")
    write_folder(data, participations=MOVED)
    again = cli("report", "--year", "2017", "--data", data, "--out", out)
    assert again.returncode == 0, again.stderr
    return data, out


def test_unchanged_reports_have_no_revision(revised) -> None:
    _, out = revised
    assert _indicators(out / "2016")["revisions"] == []
    # The key closes the file: the other figures keep their order and bytes.
    assert list(_indicators(out / "2016"))[-1] == "revisions"


def test_rerun_over_changed_data_tells_exactly_the_revisions(revised) -> None:
    _, out = revised
    assert _indicators(out / "2017")["revisions"] == EXPECTED
    page = (out / "2017" / "bilan.html").read_text(encoding="utf-8")
    assert '<h2 id="revisions">Révisions</h2>' in page
    for text in ("Chiffres de 2016</strong> (4 chiffres révisés)",
                 "Participations actives : 2 dans le bilan 2016, 1 maintenant",
                 "Communes dans au moins 2 actions : 1 dans le bilan 2016, 0 maintenant",
                 "Part des communes dans au moins 2 actions : 50,0\u00a0% dans le bilan 2016, "
                 "0,0\u00a0% maintenant",
                 "Part de la population dans au moins 2 actions : 60,0\u00a0% dans le bilan "
                 "2016, 0,0\u00a0% maintenant",
                 "Alpha, RGPD : date_debut 2016-03-01 → 2017-03-01",
                 "Communes membres : 3 dans le bilan 2015, 2 maintenant",
                 "la révision vient d’un changement de définition"):
        assert text in page, text
    # The notebook was handed the same list (a parameter), the manifest records it.
    manifest = json.loads((out / "2017" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parametres"]["revisions"] == EXPECTED


def test_second_run_tells_the_same(revised, tmp_path: Path) -> None:
    data, out = revised
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    again = cli("report", "--year", "2017", "--data", data, "--out", copy)
    assert again.returncode == 0, again.stderr
    assert (copy / "2017" / "indicators.json").read_bytes() == \
        (out / "2017" / "indicators.json").read_bytes()


def test_all_years_compare_with_the_reports_as_they_were(revised, tmp_path: Path) -> None:
    # Every bilan of the batch compares with the earlier reports as they stood before the
    # command, though 2015 and 2016 are rewritten by it: 2017 tells the same revisions.
    data, out = revised
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    batch = cli("report", "--all-years", "--data", data, "--out", copy)
    assert batch.returncode == 0, batch.stderr
    assert _indicators(copy / "2017")["revisions"] == EXPECTED
    assert _indicators(copy / "2016")["revisions"] == EXPECTED[:1]
    assert _indicators(copy / "2015")["revisions"] == []
    assert _indicators(copy / "2015")["communes_membres"] == 2  # rewritten by the batch


def test_index_marks_revised_years(revised) -> None:
    _, out = revised
    page = (out / "index.html").read_text(encoding="utf-8")
    assert ('<th scope="col">2016<br><span class="revise">révisé (<a href="2017/bilan.html'
            '#revisions">bilan 2017</a>)</span></th>') in page
    assert '<th scope="col">2017</th>' in page


def test_every_report_keeps_its_data_and_lists_it(revised) -> None:
    data, out = revised
    for year in ("2015", "2016", "2017"):
        manifest = json.loads((out / year / "manifest.json").read_text(encoding="utf-8"))
        assert sorted(manifest["copie_donnees"]) == [
            "donnees/actions.csv", "donnees/communes.csv", "donnees/participations.csv"]
    # 2016 kept the data before the change, 2017 the data after it.
    diff = cli("diff", "--depuis", out / "2016", "--data", data)
    assert diff.returncode == 1
    assert diff.stdout.splitlines()[-1] == "  " + CHANGE.replace("participation modifiée",
                                                                 "modifiée")
    assert cli("diff", "--depuis", out / "2017", "--data", data).returncode == 0


def test_every_datapackage_validates(revised) -> None:
    frictionless = pytest.importorskip("frictionless")
    _, out = revised
    for year in ("2015", "2016", "2017"):
        report = frictionless.validate(out / year / "datapackage.json")
        assert report.valid, report.flatten(["type", "message"])[:5]
        package = json.loads((out / year / "datapackage.json").read_text(encoding="utf-8"))
        names = [r["name"] for r in package["resources"]]
        assert names[:3] == ["actions", "communes", "participations"]
        assert "bilan-series" in names
        assert "licenses" not in package and "Licence non précisée" in package["description"]


def test_datapackage_constraints_catch_bad_rows(revised, tmp_path: Path) -> None:
    frictionless = pytest.importorskip("frictionless")
    _, out = revised
    copy = tmp_path / "2016"
    shutil.copytree(out / "2016", copy)
    kept = copy / "donnees" / "participations.csv"
    kept.write_text(kept.read_text(encoding="utf-8") + "5900A,CAM,2017-01-01,\n"
                    "59001,ZZZ,2017-01-01,\n", encoding="utf-8")
    package = json.loads((copy / "datapackage.json").read_text(encoding="utf-8"))
    for resource in package["resources"]:
        resource.pop("hash")
        resource.pop("bytes")
    (copy / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    found = {kind for kind, in frictionless.validate(copy / "datapackage.json")
             .flatten(["type"])}
    assert {"constraint-error", "foreign-key"} <= found


def test_licence_from_metadata(tmp_path: Path) -> None:
    from mutualisation.export.datapackage import LICENCES, licence

    assert licence({"licence": "Etalab-2.0"}) == LICENCES["etalab-2.0"]
    assert licence({"licence": "https://example.org/l"}) == {"path": "https://example.org/l"}
    assert licence({"licence": "Ma licence"}) == {"name": "ma-licence", "title": "Ma licence"}
    assert licence({}) is None


# ---------------------------------------------------------------- without a report run


def _figures(folder: Path, year: int) -> dict:
    """What the bilan of ``year`` of ``folder`` publishes (without its ``moyens``)."""
    dataset = load_dataset(folder)
    return (indicators.year_indicators(dataset, year)
            | population.year_reach(dataset, year))


def _published(tmp_path: Path, year: int, edits: dict[str, str] | None,
               figures: dict | None = None) -> tuple[dict, Published]:
    """The figures the bilan of the year after ``year`` shows (the data edited by
    ``edits``), and the report of ``year`` (its data before the edits)."""
    before = write_folder(tmp_path / "avant")
    after = write_folder(tmp_path / "apres", **(edits or {}))
    published = figures or _figures(before, year)
    changes = None if edits is None else compare(located_tables(before), located_tables(after))
    return shown_by_year(Bilan(load_dataset(after), year + 1)), Published(year, published,
                                                                         changes)


def test_no_copy_of_the_data_says_so(tmp_path: Path) -> None:
    shown, published = _published(tmp_path, 2016, None,
                                  _figures(write_folder(tmp_path / "x", participations=MOVED),
                                           2016))
    found = revisions(shown, [published])
    assert [(r.figure, r.cause) for r in found] == [
        ("participations_actives", UNKNOWN), ("communes_participantes.2", UNKNOWN),
        ("part_communes_participantes.2", UNKNOWN),
        ("part_population_communes_participantes.2", UNKNOWN)]
    text = revisions_text([{"annee": 2016, "indicateur": r.figure, "publie": r.published,
                            "nouveau": r.new, "cause": r.cause, "changements": []}
                           for r in found])
    assert "n’a pas gardé ses données" in text


def test_only_changes_that_can_move_the_year_explain_it(tmp_path: Path) -> None:
    # Two changes: Alpha's RGPD start (crosses 31/12/2016) and Gamma's RGPD start, moved
    # within 2017 (can't move a 2016 figure).
    edited = MOVED.replace("59003,RGPD,2017-02-01", "59003,RGPD,2017-04-01")
    _, published = _published(tmp_path, 2016, {"participations": edited})
    log = published.changes.log
    assert log.height == 2
    from datetime import date

    kept = relevant(log, date(2016, 12, 31))
    assert kept["cle"].to_list() == [["59001", "RGPD"]]
    assert relevant(log, date(2017, 12, 31)).height == 0
    # An added row counts from its earliest date on.
    added = write_folder(tmp_path / "plus", participations=PARTICIPATIONS
                         + "59003,CAM,2018-01-01,\n")
    late = compare(located_tables(tmp_path / "avant"), located_tables(added)).log
    assert relevant(late, date(2017, 12, 31)).height == 0
    assert relevant(late, date(2018, 12, 31)).height == 1


# ------------------------------------------- populations and moyens (issues #18 and #19)

POPULATIONS = "code_insee,annee,population\n59001,2016,1250\n59002,2016,750\n59001,2017,1280\n"
MOYENS = """action_id,annee,code_insee,etp,agents_transferes,cout_fonctionnement,economies,\
mode_financement,cle_repartition
CAM,2015,,1,,10000,,budget intercommunal,
CAM,2016,,1.5,1,12000,,budget intercommunal,
CAM,2016,59001,,,3000,,,
RGPD,2016,,0.5,,5000,500,refacturation,
"""
# Alpha's population of 2016 (populations.csv, line 2) and CAM's own 2016 row (cost and
# ETP), and CAM's 2015 cost. The 2016 members are Alpha and Beta (Gamma joins in 2017):
# 1 250 + 750 = 2 000 inhabitants, then 2 050; Alpha alone is in 1 and in 2 actions on
# 31/12/2016 (Beta left CAM in June): 1 250 / 2 000 = 62,5 %, then 1 300 / 2 050 = 63,41 %.
# 2016 moyens: CAM 12 000 € + RGPD 5 000 € = 17 000 €, then 17 500 €; 1,5 + 0,5 = 2 ETP,
# then 2,5; per inhabitant of the communes taking part (Alpha): 17 000 / 1 250 = 13,60 €,
# then 17 500 / 1 300 = 13,46 €. 2015: CAM 10 000 €, then 10 400 €, for Alpha and Beta
# (2 000 inhabitants of the communes' column): 5,00 €, then 5,20 €.
POPULATION_EDIT = ("59001,2016,1250", "59001,2016,1300")
MOYENS_EDITS = (("CAM,2016,,1.5,1,12000", "CAM,2016,,2,1,12500"),
                ("CAM,2015,,1,,10000", "CAM,2015,,1,,10400"))
POPULATION_CHANGE = ("population modifiée — populations.csv, ligne 2 : Alpha (59001), 2016 : "
                     "population 1250 → 1300")
MOYENS_CHANGE = ("ligne de moyens modifiée — moyens.csv, ligne 3 : CAM, 2016 : "
                 "cout_fonctionnement 12000.0 → 12500.0, etp 1.5 → 2.0")
# The kept data of 2015, broken by hand: a date no one can read.
UNREADABLE = ("donnees/participations.csv, ligne 7, colonne « date_debut », valeur "
              "« 2019-13-01 » : date illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)")


def _with_tables(folder: Path, populations: str, moyens: str) -> Path:
    write_folder(folder)
    (folder / "populations.csv").write_text(populations, encoding="utf-8")
    (folder / "moyens.csv").write_text(moyens, encoding="utf-8")
    return folder


def _edited() -> tuple[str, str]:
    moyens = MOYENS
    for old, new in MOYENS_EDITS:
        moyens = moyens.replace(old, new)
    return POPULATIONS.replace(*POPULATION_EDIT), moyens


def _record(year: int, figure: str, before: float, after: float, cause: str,
            changes: list[str], **more: str) -> dict:
    return {"annee": year, "indicateur": figure, "publie": before, "nouveau": after,
            "cause": cause, "changements": changes, **more}


MEANS_EXPECTED = [
    _record(2015, "moyens.cout_fonctionnement", 10000, 10400, UNKNOWN, [],
            donnees_illisibles=UNREADABLE),
    _record(2015, "moyens.cout_par_habitant", 5, 5.2, UNKNOWN, [],
            donnees_illisibles=UNREADABLE),
    _record(2016, "population_membres", 2000, 2050, DATA, [POPULATION_CHANGE]),
    _record(2016, "part_population_communes_participantes.1", 0.625, 0.6341, DATA,
            [POPULATION_CHANGE]),
    _record(2016, "part_population_communes_participantes.2", 0.625, 0.6341, DATA,
            [POPULATION_CHANGE]),
    _record(2016, "moyens.etp", 2, 2.5, DATA, [MOYENS_CHANGE]),
    _record(2016, "moyens.cout_fonctionnement", 17000, 17500, DATA, [MOYENS_CHANGE]),
    _record(2016, "moyens.cout_par_habitant", 13.6, 13.46, DATA,
            [POPULATION_CHANGE, MOYENS_CHANGE]),
]


@pytest.fixture(scope="module")
def means_revised(tmp_path_factory) -> Path:
    """Reports 2015 to 2017 of the small data set with populations and moyens; then the 2015
    report's kept data broken, a population and two moyens rows changed, and 2017 re-run."""
    base = tmp_path_factory.mktemp("revisions_moyens")
    data = _with_tables(base / "data", POPULATIONS, MOYENS)
    out = base / "out"
    first = cli("report", "--all-years", "--data", data, "--out", out)
    assert first.returncode == 0, first.stderr
    assert _indicators(out / "2016")["moyens"]["cout_fonctionnement"] == 17000
    kept = out / "2015" / "donnees" / "participations.csv"
    kept.write_text(kept.read_text(encoding="utf-8") + "59001,CAM,2019-13-01,\n",
                    encoding="utf-8")
    _with_tables(data, *_edited())
    again = cli("report", "--year", "2017", "--data", data, "--out", out)
    assert again.returncode == 0, again.stderr
    return out


def test_population_and_moyens_revisions_name_their_changes(means_revised) -> None:
    assert _indicators(means_revised / "2017")["revisions"] == MEANS_EXPECTED


def test_population_and_moyens_revisions_are_told_in_french(means_revised) -> None:
    page = (means_revised / "2017" / "bilan.html").read_text(encoding="utf-8")
    nb, nnb = "\u00a0", "\u202f"
    for text in (
            "Chiffres de 2016</strong> (6 chiffres révisés)",
            f"Population des communes membres : 2{nnb}000 dans le bilan 2016, "
            f"2{nnb}050 maintenant",
            f"Part de la population dans au moins 1 action : 62,5{nb}% dans le bilan 2016, "
            f"63,4{nb}% maintenant",
            f"Équivalents temps plein (ETP) : 2{nb}ETP dans le bilan 2016, 2,5{nb}ETP maintenant",
            f"Coût de fonctionnement : 17{nnb}000{nb}€ dans le bilan 2016, "
            f"17{nnb}500{nb}€ maintenant",
            f"Coût par habitant couvert : 13,60{nb}€ dans le bilan 2016, 13,46{nb}€ maintenant",
            "Les 2 changements des données qui les expliquent",
            "Alpha (59001), 2016 : population 1250 → 1300",
            "CAM, 2016 : cout_fonctionnement 12000.0 → 12500.0, etp 1.5 → 2.0",
            f"Coût de fonctionnement : 10{nnb}000{nb}€ dans le bilan 2015, "
            f"10{nnb}400{nb}€ maintenant",
            "Les données gardées par le bilan 2015 n’ont pas pu être relues : les "
            "changements qui les expliquent ne peuvent pas être listés. Problème : "
            "donnees/participations.csv, ligne 7, colonne « date_debut », valeur "
            "« 2019-13-01 » : date illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA).</p>"):
        assert text in page, text


def test_a_change_of_another_year_or_of_a_commune_part_explains_nothing(tmp_path: Path
                                                                        ) -> None:
    # Alpha's population of 2017, a commune's part of CAM's 2016 cost and CAM's 2015 row:
    # none can move a figure of 2016 but the 2017 population row can move 2017's.
    before = _with_tables(tmp_path / "avant", POPULATIONS, MOYENS)
    after = _with_tables(
        tmp_path / "apres", POPULATIONS.replace("59001,2017,1280", "59001,2017,1290"),
        MOYENS.replace("CAM,2016,59001,,,3000", "CAM,2016,59001,,,3100")
        .replace("CAM,2015,,1,,10000", "CAM,2015,,1,,10400"))
    log = compare(located_tables(before), located_tables(after)).log
    assert log.height == 3
    from datetime import date

    assert relevant(log, date(2016, 12, 31)).height == 0
    assert relevant(log, date(2017, 12, 31))["table"].to_list() == ["populations"]
    assert relevant(log, date(2015, 12, 31))["cle"].to_list() == [["CAM", "2015", ""]]


def test_a_figure_the_earlier_report_did_not_publish_is_not_compared(tmp_path: Path) -> None:
    before = _with_tables(tmp_path / "avant", POPULATIONS, MOYENS)
    after = _with_tables(tmp_path / "apres", *_edited())
    changes = compare(located_tables(before), located_tables(after))
    shown = shown_by_year(Bilan(load_dataset(after), 2017))
    # An older report: without population figures nor moyens.
    older = indicators.year_indicators(load_dataset(before), 2016)
    assert revisions(shown, [Published(2016, older, changes)]) == []
