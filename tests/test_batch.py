"""End-to-end: every year and every commune sheet in one command, and the index page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mutualisation.data.parameters import Parameters
from mutualisation.run.report import run_fiche, run_report
from tests.browser import open_offline
from tests.conftest import write_folder
from tests.test_report import cli, digest


def sheet(data: Path, code: str) -> Parameters:
    """The parameters of the 2017 sheet of ``code``."""
    return Parameters.checked(data, 2017, code_insee=code)


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> tuple[Path, Path, object]:
    """Every year of the small data set, then three sheets of 2017 of which one fails."""
    base = tmp_path_factory.mktemp("batch")
    data = write_folder(base / "data")
    out = base / "out"
    years = cli("report", "--all-years", "--data", str(data), "--out", str(out))
    assert years.returncode == 0, years.stderr
    sheets = cli("fiches", "--year", "2017", "--data", str(data), "--out", str(out),
                 "--communes", "59001", "--communes", "59003")
    assert sheets.returncode == 0, sheets.stderr
    return data, out, sheets


def _figures(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_all_years_are_written(batch) -> None:
    _, out, _ = batch
    # The small data set runs from the first inscription (2015) to its last event (2017).
    assert sorted(p.name for p in out.iterdir() if p.name.isdigit()) == ["2015", "2016", "2017"]
    for year in (2015, 2016, 2017):
        assert _figures(out / str(year) / "indicators.json")["annee"] == year
        assert (out / str(year) / "bilan.pdf").is_file()
    # No staging or failure folder left; only the output folder's lock file.
    assert [p.name for p in out.glob(".*")] == [".verrou"]


def test_sheet_figures_match_hand_worked_values(batch) -> None:
    _, out, _ = batch
    # 31/12/2017: 59001 takes part in CAM (since 2015-09-01) and RGPD (since 2016-03-01);
    # 59003 joined on 2017-01-01 and takes part in RGPD only, so CAM is still open to it.
    alpha = _figures(out / "2017" / "fiches" / "59001" / "indicators.json")
    assert (alpha["nom"], alpha["nb_actions"], alpha["actions"]) == ("Alpha", 2, ["CAM", "RGPD"])
    assert alpha["actions_disponibles"] == []
    gamma = _figures(out / "2017" / "fiches" / "59003" / "indicators.json")
    assert (gamma["nb_actions"], gamma["actions"]) == (1, ["RGPD"])
    assert gamma["actions_disponibles"] == ["CAM"]
    figures = sorted(p.stem for p in (out / "2017" / "fiches" / "59003" / "figures").iterdir())
    assert figures == ["actions", "actions_disponibles", "comparaison", "parcours"]


def test_sheet_summary_and_progress(batch) -> None:
    _, out, sheets = batch
    assert "2 fiches écrites sur 2" in sheets.stderr
    assert "en cours" in sheets.stderr and "échecs : 0" in sheets.stderr  # the progress bar
    assert sorted(p.name for p in (out / "2017" / "fiches").iterdir()) == ["59001", "59003"]


def test_unknown_or_absent_communes_are_refused_before_any_run(batch, tmp_path: Path) -> None:
    data, _, _ = batch
    result = cli("fiches", "--year", "2016", "--data", str(data), "--out", str(tmp_path),
                 "--communes", "59999,59003,59A01")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert any("59999" in line and "inconnu" in line for line in lines), lines
    assert any("59003" in line and "n'est pas membre au 31 décembre 2016" in line
               for line in lines), lines
    assert any("59A01" in line for line in lines), lines
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


def test_one_failing_run_does_not_stop_the_others(batch, tmp_path: Path) -> None:
    """A run that fails inside the batch is reported with its label; the others are written."""
    from mutualisation.run.batch import run_jobs

    data, _, _ = batch
    out = tmp_path / "out"

    def broken(executor):
        raise RuntimeError("panne simulée")

    jobs = [("fiche 59001 Alpha", lambda ex: run_fiche(sheet(data, "59001"), out, executor=ex)),
            ("fiche cassée", broken),
            ("fiche 59003 Gamma", lambda ex: run_fiche(sheet(data, "59003"), out, executor=ex))]
    outcomes = run_jobs(jobs, "Fiches", workers=2)
    assert [o.label for o in outcomes] == [label for label, _ in jobs]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert "panne simulée" in outcomes[1].error
    assert sorted(p.name for p in (out / "2017" / "fiches").iterdir()) == ["59001", "59003"]


def test_batch_outputs_equal_single_runs(batch, tmp_path: Path) -> None:
    data, out, _ = batch
    single = tmp_path / "single"
    run_report(Parameters.checked(data, 2016), single)
    run_fiche(sheet(data, "59003"), single)
    assert digest(single / "2016", skip=("fiches",)) == digest(out / "2016")
    assert digest(single / "2017" / "fiches" / "59003") == digest(
        out / "2017" / "fiches" / "59003")


def test_rewriting_a_bilan_keeps_the_sheets_of_its_year(batch) -> None:
    data, out, _ = batch
    before = digest(out / "2017" / "fiches")
    result = cli("report", "--year", "2017", "--data", str(data), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert digest(out / "2017" / "fiches") == before


def test_index_links_everything(batch) -> None:
    _, out, _ = batch
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page
    links = re.findall(r'href="([^"]+)"', page)
    assert "2017/fiches/59001/fiche.html" in links
    assert {"2015/bilan.html", "2016/bilan.pdf", "2017/bilan.xlsx"} <= set(links)
    for link in links:
        assert (out / link).is_file(), link
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_index_search_box_filters_offline(batch) -> None:
    _, out, _ = batch
    with open_offline(out / "index.html") as view:
        page = view.page
        assert page.locator("li[data-nom]:visible").count() == 2
        page.fill("#recherche", "gamma")
        assert page.locator("li[data-nom]:visible").all_inner_texts()[0].startswith("Gamma")
        assert page.locator("li[data-nom]:visible").count() == 1
        page.fill("#recherche", "zzz")
        assert page.locator("#aucun").is_visible()
        assert view.blocked_requests == [] and view.console_errors == []


def test_batch_with_failures_exits_non_zero(tmp_path: Path, capsys) -> None:
    import typer

    from mutualisation.cli import _finish_batch
    from mutualisation.run.batch import Outcome

    outcomes = [Outcome("fiche 59001 Alpha", target=tmp_path / "a"),
                Outcome("fiche 59003 Gamma", error="panne simulée")]
    with pytest.raises(typer.Exit) as info:
        _finish_batch(outcomes, tmp_path, "fiche écrite", "fiches écrites")
    assert info.value.exit_code == 1
    err = capsys.readouterr().err
    assert "1 fiche écrite sur 2" in err
    assert "1 échec : fiche 59003 Gamma" in err
    assert (tmp_path / "index.html").is_file()
