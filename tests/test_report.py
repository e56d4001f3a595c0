"""End-to-end: ``mutualisation report`` on small data sets made here, and on the stored reports."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mutualisation.config import DATA_DIR, OUTPUTS_DIR
from mutualisation.data.parameters import Parameters
from mutualisation.run import report as report_module
from tests.browser import assert_offline_page
from tests.conftest import ACTIONS, COMMUNES, PARTICIPATIONS, write_folder

# The small data set of conftest, worked out by hand for 31/12/2016:
# members 59001, 59002 (59003 joins in 2017); inscribed CAM, RGPD, SIG; deployed CAM, RGPD
# (RGPD during 2016); 59001 is in CAM and RGPD (2 actions); 59002 left CAM on 2016-06-30 and
# comes back in 2017, so it has 0 actions at the end of 2016.
EXPECTED_2016 = {
    "annee": 2016,
    "date_reference": "2016-12-31",
    "communes_membres": 2,
    "actions_inscrites": 3,
    "actions_deployees": 2,
    "actions_deployees_annee": ["RGPD"],
    "communes_participantes": {"1": 1, "2": 1, "5": 0},
    "part_communes_participantes": {"1": 0.5, "2": 0.5, "5": 0.0},
    "participations_par_action": {"CAM": 1, "RGPD": 1, "SIG": 0},
}
# 31/12/2017: 59003 is a member, in RGPD; 59002 is back in CAM.
EXPECTED_2017 = {
    "communes_membres": 3,
    "actions_deployees_annee": [],
    "communes_participantes": {"1": 3, "2": 1, "5": 0},
    "part_communes_participantes": {"1": 1.0, "2": 0.3333, "5": 0.0},
    "participations_par_action": {"CAM": 2, "RGPD": 2, "SIG": 0},
}


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``mutualisation ARGS…`` in a new process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "mutualisation", *map(str, args)],
                          capture_output=True, text=True, check=False)


def digest(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by relative path."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in skip
    }


@pytest.fixture(scope="module")
def small_report(tmp_path_factory) -> tuple[Path, Path]:
    """One report of the small data set for 2016, written by the command line."""
    base = tmp_path_factory.mktemp("report")
    data = write_folder(base / "data")
    out = base / "out"
    result = cli("report", "--year", "2016", "--data", str(data), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return data, out


def test_indicators_match_hand_worked_values(small_report) -> None:
    _, out = small_report
    figures = json.loads((out / "2016" / "indicators.json").read_text(encoding="utf-8"))
    for key, value in EXPECTED_2016.items():
        assert figures[key] == value, key
    assert list(figures)[: len(EXPECTED_2016)] == list(EXPECTED_2016)


def test_report_folder_contents(small_report) -> None:
    data, out = small_report
    folder = out / "2016"
    names = set(digest(folder))
    assert {"bilan.ipynb", "bilan.html", "indicators.json", "manifest.json"} <= names
    assert any(n.startswith("tables/") and n.endswith(".csv") for n in names)
    assert any(n.startswith("figures/") and n.endswith(".svg") for n in names)
    # No staging folder or journal left; the lock file stays (removing it would race waiters).
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".verrou"]

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for table in ("communes", "actions", "participations"):
        expected = hashlib.sha256((data / f"{table}.csv").read_bytes()).hexdigest()
        assert manifest["fichiers_entree"][f"{table}.csv"] == expected
    assert manifest["parametres"] == {"annee": 2016, "donnees": str(data.resolve()),
                                      "seuils": [1, 2, 5]}
    assert {"polars", "altair", "papermill"} <= set(manifest["versions"])

    nb = nbformat.read(folder / "bilan.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "annee = 2016" in injected[0].source
    svgs = [o for c in nb.cells for o in c.get("outputs", []) if "image/svg+xml" in
            o.get("data", {})]
    assert len(svgs) >= 6

    page = (folder / "bilan.html").read_text(encoding="utf-8")
    assert '<html lang="fr"' in page
    assert "Bilan 2016 du schéma de mutualisation" in page
    assert "Bilan.build" not in page  # no code shown


def test_rerun_is_byte_identical(small_report, tmp_path: Path) -> None:
    data, out = small_report
    again = tmp_path / "again"
    result = cli("report", "--year", "2016", "--data", str(data), "--out", str(again))
    assert result.returncode == 0, result.stderr
    assert digest(again / "2016") == digest(out / "2016")


def test_another_year_and_thresholds(small_report, tmp_path: Path) -> None:
    data, _ = small_report
    result = cli("report", "--year", "2017", "--data", str(data), "--out", str(tmp_path),
                 "--seuils", "1,2,5")
    assert result.returncode == 0, result.stderr
    figures = json.loads((tmp_path / "2017" / "indicators.json").read_text(encoding="utf-8"))
    for key, value in EXPECTED_2017.items():
        assert figures[key] == value, key


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--year", "2030"], "aucune donnée complète pour l'année 2030"),
        (["--year", "deux mille"], "--year : année invalide « deux mille »"),
        (["--year", "2016", "--seuils", "1,zéro"], "--seuils : valeur invalide"),
    ],
)
def test_bad_parameters_are_clear_errors(small_report, tmp_path: Path, args, message) -> None:
    data, _ = small_report
    result = cli("report", "--data", str(data), "--out", str(tmp_path), *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


def test_bad_data_leaves_previous_report_intact(small_report, tmp_path: Path) -> None:
    data, out = small_report
    before = digest(out / "2016")
    broken = write_folder(tmp_path / "broken",
                          communes=(data / "communes.csv").read_text().replace("59002", "5900Z"))
    result = cli("report", "--year", "2016", "--data", str(broken), "--out", str(out))
    assert result.returncode == 2
    assert "communes.csv, ligne 3, colonne « code_insee », valeur « 5900Z »" in result.stderr
    assert digest(out / "2016") == before


def test_failing_notebook_leaves_previous_report_intact(small_report, tmp_path: Path,
                                                         monkeypatch) -> None:
    data, out = small_report
    before = digest(out / "2016")
    failing = tmp_path / "bilan.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("annee = None", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("raise RuntimeError('panne simulée')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, failing)
    monkeypatch.setattr(report_module, "BILAN_NOTEBOOK", failing)
    with pytest.raises(report_module.ReportError, match="panne simulée") as info:
        report_module.run_report(Parameters.checked(data, 2016), out)
    assert str(out / ".echec-2016" / "bilan.ipynb") in str(info.value)
    assert (out / ".echec-2016" / "bilan.ipynb").is_file()
    assert digest(out / "2016") == before
    assert not list(out.glob(".en-cours-*"))


# --------------------------------------------------------------------------- the stored reports

STORED = sorted(p.parent for p in OUTPUTS_DIR.glob("*/bilan.ipynb"))


def test_stored_reports_exist() -> None:
    assert [p.name for p in STORED] == ["2015", "2016", "2017", "2018", "2019"]


@pytest.mark.parametrize("stored", STORED, ids=lambda p: p.name)
def test_regenerating_a_stored_report_changes_nothing(stored: Path, tmp_path: Path) -> None:
    result = cli("report", "--year", stored.name, "--data", str(DATA_DIR), "--out",
                 str(tmp_path))
    assert result.returncode == 0, result.stderr
    # The notebook is compared by nbval; the PDF depends on the Chromium build and its fonts
    # (test_exports checks it is byte-stable within one machine); every other file must be
    # byte-identical.
    skip = ("bilan.pdf",)
    assert digest(tmp_path / stored.name, skip) == digest(stored, skip)
    assert (tmp_path / stored.name / "bilan.pdf").is_file()


def test_stored_2019_headline_carries_the_published_figures() -> None:
    page = (OUTPUTS_DIR / "2019" / "bilan.html").read_text(encoding="utf-8")
    for text in ("25 actions de mutualisation déployées depuis 2015",
                 "37 actions inscrites", "dont 25 déployées", "5 l’ont été en 2019",
                 "Données illustratives"):
        assert text in page, text
    for text in ("100\u202f% à au moins 2 actions", "95\u202f% à au moins 5 actions"):
        assert text.replace("\u202f", "\u00a0") in page or text in page, text


def test_stored_report_opens_offline_with_every_chart(tmp_path: Path) -> None:
    nb = nbformat.read(OUTPUTS_DIR / "2019" / "bilan.ipynb", as_version=4)
    charts = sum("image/svg+xml" in o.get("data", {}) for c in nb.cells
                 for o in c.get("outputs", []))
    drawn = assert_offline_page(OUTPUTS_DIR / "2019" / "bilan.html", min_images=charts,
                                screenshot_dir=tmp_path)
    assert len(drawn) >= charts >= 8


def test_every_figure_of_the_bilan_is_written(small_report) -> None:
    """The figure files are the notebook's drawings: one per chart of the bilan, same bytes."""
    from mutualisation.compute.bilan import Bilan
    from mutualisation.present.charts import to_svg
    from mutualisation.present.figures import bilan_figures

    data, out = small_report
    bilan = Bilan.build(data, 2016)
    written = {p.stem: p.read_text(encoding="utf-8")
               for p in (out / "2016" / "figures").glob("*.svg")}
    figures = bilan_figures(bilan)
    assert set(written) == set(figures)
    assert written["actions_par_annee"] == to_svg(figures["actions_par_annee"])


def test_unwritable_out_is_a_clear_error(small_report, tmp_path: Path) -> None:
    data, _ = small_report
    blocker = tmp_path / "un_fichier"
    blocker.write_text("pas un dossier")
    for command in (["report", "--year", "2016", "--data", str(data)], ["index"]):
        result = cli(*command, "--out", str(blocker))
        assert result.returncode == 2
        assert result.stderr == f"--out : « {blocker} » n'est pas un dossier\n"
        assert "Traceback" not in result.stderr
    assert blocker.read_text() == "pas un dossier"


# --------------------------------------------------------------------------- failures and locks

STORED_2019 = OUTPUTS_DIR / "2019" / "bilan.ipynb"


def copy_stored(template: Path, output: Path, parameters: dict) -> None:
    """An executor that 'runs' the bilan by copying the stored 2019 notebook (fast)."""
    shutil.copyfile(STORED_2019, output)


def quick_report(out: Path, **kwargs) -> Path:
    return report_module.run_report(Parameters.checked(DATA_DIR, 2019), out,
                                    executor=copy_stored, pdf=False,
                                    **kwargs)


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith(".")
                  and p.name != ".verrou")


def test_a_full_disk_keeps_the_previous_report_and_leaves_nothing(tmp_path: Path,
                                                                   monkeypatch) -> None:
    out = tmp_path / "out"
    before = digest(quick_report(out))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "bilan.xlsx")

    monkeypatch.setattr(report_module, "write_workbook", full)
    with pytest.raises(report_module.ReportError) as info:
        quick_report(out)
    message = str(info.value)
    assert message.startswith(f"disque plein : {out / '2019'} n'a pas pu être écrit (")
    assert "Mo libres" in message and "le rapport précédent est intact" in message
    assert "Notebook conservé" not in message
    assert digest(out / "2019") == before
    assert leftovers(out) == []


def test_ctrl_c_keeps_the_partial_notebook_where_the_message_says(tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = digest(quick_report(out))

    def interrupted(template: Path, output: Path, parameters: dict) -> None:
        output.write_text("{}")  # papermill saves the notebook as cells run
        raise KeyboardInterrupt

    with pytest.raises(report_module.Interrupted) as info:
        report_module.run_report(Parameters.checked(DATA_DIR, 2019), out,
                                 executor=interrupted, pdf=False)
    kept = out / ".echec-2019" / "bilan.ipynb"
    assert str(info.value) == (f"interrompu : {out / '2019'} n'a pas été modifié. "
                               f"Notebook partiel conservé : {kept}")
    assert kept.read_text() == "{}"
    assert digest(out / "2019") == before
    assert leftovers(out) == [".echec-2019"]
    quick_report(out)  # the next success removes the kept notebook
    assert leftovers(out) == []


def test_a_failure_names_a_kept_notebook_only_when_there_is_one(tmp_path: Path) -> None:
    def broken(template: Path, output: Path, parameters: dict) -> None:
        raise RuntimeError("le noyau n'a pas démarré")

    out = tmp_path / "out"
    with pytest.raises(report_module.ReportError) as info:
        report_module.run_report(Parameters.checked(DATA_DIR, 2019), out,
                                 executor=broken, pdf=False)
    assert str(info.value) == ("le rapport n'a pas pu être écrit (RuntimeError : le noyau "
                               "n'a pas démarré).")
    assert leftovers(out) == []
    assert not (out / "2019").exists()


def test_a_report_folder_that_is_a_link_is_refused_before_any_work(tmp_path: Path) -> None:
    real = tmp_path / "ailleurs"
    real.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "2019").symlink_to(real)

    def never(*args) -> None:
        raise AssertionError("the notebook must not run")

    with pytest.raises(report_module.ReportError, match="est un lien symbolique"):
        report_module.run_report(Parameters.checked(DATA_DIR, 2019), out,
                                 executor=never, pdf=False)
    assert list(real.iterdir()) == []
    assert (out / "2019").is_symlink()


def test_out_through_a_link_is_followed(tmp_path: Path) -> None:
    real = tmp_path / "reel"
    real.mkdir()
    link = tmp_path / "lien"
    link.symlink_to(real, target_is_directory=True)
    quick_report(link)
    assert (real / "2019" / "indicators.json").is_file()
    assert link.is_symlink() and leftovers(real) == []


def test_a_stage_left_by_a_killed_run_is_recovered_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "out"
    quick_report(out)
    # A run killed while building, and a run of an earlier version killed between its renames.
    (out / ".en-cours-2019-999999-1").mkdir()
    (out / "2019").rename(out / ".ancien-2019")
    quick_report(out)
    assert (out / "2019" / "indicators.json").is_file()
    assert leftovers(out) == []


@pytest.mark.parametrize("values", [["--year", "²"], ["--year", "2101"], ["--seuils", "1,²"],
                                    ["--seuils", "1,99999999999999999999"]])
def test_parameters_beyond_bounds_are_one_line(tmp_path: Path, values: list[str]) -> None:
    result = cli("report", "--out", str(tmp_path), *values)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(values[0] + " : ")
    assert "Traceback" not in result.stderr
    assert "1950" in result.stderr or "999" in result.stderr or "invalide" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_busy_folder_with_sans_attendre_stops_at_once(tmp_path: Path) -> None:
    from mutualisation.run.publish import output_lock

    with output_lock(tmp_path):
        result = cli("report", "--year", "2019", "--out", str(tmp_path), "--sans-attendre")
    assert result.returncode == 75
    assert result.stderr.startswith(f"{tmp_path} est en cours d'écriture par l'exécution de "
                                    f"PID {os.getpid()}")
    assert not (tmp_path / "2019").exists()


def test_two_runs_into_one_folder_both_end_cleanly(small_report, tmp_path: Path) -> None:
    data, _ = small_report
    out = tmp_path / "out"
    command = [sys.executable, "-m", "mutualisation", "report", "--year", "2016", "--data",
               str(data), "--out", str(out)]
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    # The first run says what it does once it holds the folder; then the second starts.
    assert "exécution du notebook" in first.stderr.readline()
    second = subprocess.run(command, capture_output=True, text=True, check=False)
    rest = first.stderr.read()
    assert first.wait() == 0, rest
    assert second.returncode == 0, second.stderr
    assert f"PID {first.pid}" in second.stderr and "attente de sa fin" in second.stderr
    assert (out / "2016" / "indicators.json").is_file()
    assert leftovers(out) == []


def test_the_report_and_its_pdf_need_no_browser(small_report, tmp_path: Path) -> None:
    """No Chromium on the PATH, Playwright unimportable: the whole report, PDF included."""
    data, _ = small_report
    script = ("import sys; sys.modules['playwright'] = None; "
              "from mutualisation.cli import app; sys.argv[0] = 'mutualisation'; app()")
    empty = tmp_path / "vide"
    empty.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", script, "report", "--year", "2016", "--data", str(data),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PATH": str(empty)})
    assert result.returncode == 0, result.stderr
    pdf = (tmp_path / "out" / "2016" / "bilan.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 6 MB file system of its own (tmpfs), when this user may mount one (root)."""
    mount = tmp_path / "disque"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip("no tmpfs here (needs root): the full disk is simulated in the test above")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_really_full_disk_keeps_the_previous_report(small_disk: Path) -> None:
    out = small_disk / "out"
    before = digest(quick_report(out))
    # Leave far less room than a second report needs beside the first.
    free = shutil.disk_usage(small_disk).free
    (small_disk / "remplissage").write_bytes(b"\0" * (free - 300_000))
    with pytest.raises(report_module.ReportError, match="^disque plein : "):
        quick_report(out)
    assert digest(out / "2019") == before
    assert leftovers(out) == []
    (small_disk / "remplissage").unlink()
    quick_report(out)  # room again: the next run works
    assert leftovers(out) == []


def test_ctrl_c_during_a_real_run(small_report, tmp_path: Path) -> None:
    """Ctrl-C in the terminal (SIGINT to the whole process group) while papermill runs."""
    data, _ = small_report
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "mutualisation", "report", "--year", "2016",
                            "--data", str(data), "--out", str(out)],
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert "exécution du notebook" in run.stderr.readline()
    os.killpg(run.pid, signal.SIGINT)
    rest = run.stderr.read()
    assert run.wait() == 130, rest
    assert rest.startswith(f"interrompu : {out / '2016'} n'a pas été modifié."), rest
    assert "Traceback" not in rest and len(rest.strip().splitlines()) == 1
    kept = out / ".echec-2016" / "bilan.ipynb"
    # The message names the partial notebook exactly when there is one.
    assert (f"Notebook partiel conservé : {kept}" in rest) == kept.is_file()
    assert not (out / "2016").exists() and leftovers(out) in ([], [".echec-2016"])


def test_the_largest_intercommunality_gets_its_report(tmp_path: Path) -> None:
    """158 communes × 100 actions over 10 years: the whole command, PDF included."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "big_data", Path(__file__).parents[1] / "bench" / "big_data.py")
    big_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(big_data)
    data = big_data.write_big_dataset(tmp_path / "data", communes=158, actions=100, years=10)
    result = cli("report", "--data", str(data), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out" / "2024"
    figures = json.loads((folder / "indicators.json").read_text(encoding="utf-8"))
    assert figures["communes_membres"] * figures["actions_deployees"] > 5000
    assert len(figures["participations_par_action"]) == 100
    matrix = (folder / "figures" / "matrice.svg").read_text(encoding="utf-8")
    assert matrix.startswith("<svg") and len(matrix) < 2_000_000
    assert (folder / "bilan.pdf").read_bytes().startswith(b"%PDF-")


def test_workers_and_out_mistakes_are_one_french_line(tmp_path: Path) -> None:
    afile = tmp_path / "un_fichier"
    afile.write_text("x")
    for args, message in ((["--all-years", "--workers", "0"],
                           "--workers : 0 n'est pas admis (au moins 1 noyau)"),
                          (["--out", str(afile)], f"--out : « {afile} » n'est pas un dossier")):
        result = cli("report", *args)
        assert result.returncode == 2 and result.stderr == message + "\n", result.stderr


def test_index_recovers_a_crashed_run_first(tmp_path: Path) -> None:
    out = tmp_path / "out"
    quick_report(out)
    (out / "2019").rename(out / ".ancien-2019")  # killed between an earlier version's renames
    result = cli("index", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "2019/bilan.html" in (out / "index.html").read_text(encoding="utf-8")
    assert leftovers(out) == []


@pytest.mark.parametrize("args", [("report",), ("report", "--all-years"), ("fiches",)])
def test_data_years_outside_the_bounds_of_a_report_are_one_line(tmp_path: Path,
                                                                args: tuple[str, ...]) -> None:
    """The year a command takes from the data (the last one, or every one) is checked like a
    --year: one line, status 2, nothing written — not a traceback."""
    def old(text: str) -> str:
        return text.replace("2015", "1940").replace("2016", "1941").replace("2017", "1942")

    data = write_folder(tmp_path / "data", old(COMMUNES), old(ACTIONS), old(PARTICIPATIONS))
    out = tmp_path / "out"
    result = cli(*args, "--data", data, "--out", out)
    assert (result.returncode, result.stderr) == (
        2, f"année invalide : {1940 if '--all-years' in args else 1942} (entre 1950 et 2100)\n")
    assert not out.exists()
