"""Charts drawn ahead of the kernel (mutualisation.run.ahead): protocol, exactness, failures."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from mutualisation.compute.bilan import Bilan
from mutualisation.compute.fiche import Fiche
from mutualisation.config import BILAN_NOTEBOOK, FICHE_NOTEBOOK
from mutualisation.files import write_whole
from mutualisation.present import charts, svg_cache
from mutualisation.present.charts import render
from mutualisation.present.figures import bilan_figures, fiche_figures
from mutualisation.run import ahead
from mutualisation.run.execute import execute

KEY = "a" * 64


class FakeClock:
    """The clock of :func:`svg_cache.drawn_ahead`, injected: its waits take no real time.

    ``at(t, action)`` runs ``action`` when the waiting code's clock reaches ``t`` seconds, as
    another process writing a file then would: no thread, no real sleep, the same order on a
    loaded machine as on a quiet one.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.actions: list[tuple[float, object]] = []

    def at(self, seconds: float, action) -> None:
        self.actions.append((seconds, action))

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        due = [a for a in self.actions if a[0] <= self.now]
        self.actions = [a for a in self.actions if a[0] > self.now]
        for _, action in due:
            action()


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(svg_cache, "time", fake)
    return fake


def plan(folder: Path, *keys: str) -> None:
    (folder / svg_cache.PLAN_FILE).write_text(json.dumps(sorted(keys)), encoding="utf-8")


# --------------------------------------------------------------------------- protocol


def test_no_folder_means_no_lookup(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(svg_cache.FOLDER_VARIABLE, raising=False)
    assert svg_cache.folder_in_use() is None
    assert svg_cache.drawn_ahead(KEY) is None
    assert svg_cache.drawn_ahead(KEY, tmp_path / "absent", wait_limit=5) is None


def test_a_key_outside_the_plan_is_not_waited_for(tmp_path: Path, clock: FakeClock) -> None:
    plan(tmp_path, "b" * 64)
    assert svg_cache.drawn_ahead(KEY, tmp_path, wait_limit=10) is None
    assert clock.sleeps == 0


def test_a_planned_chart_is_waited_for_and_marked_taken(tmp_path: Path,
                                                        clock: FakeClock) -> None:
    plan(tmp_path, KEY)
    clock.at(0.3, lambda: write_whole(tmp_path / f"{KEY}.svg", "<svg>é</svg>".encode()))
    assert svg_cache.drawn_ahead(KEY, tmp_path, wait_limit=10) == "<svg>é</svg>"
    assert clock.sleeps > 0 and 0.3 <= clock.now < 10  # it did wait, and not for the limit
    assert (tmp_path / f"{KEY}{svg_cache.TAKEN_SUFFIX}").exists()


def test_the_plan_itself_is_waited_for(tmp_path: Path, clock: FakeClock) -> None:
    def draw() -> None:
        plan(tmp_path, KEY)
        (tmp_path / f"{KEY}.svg").write_text("<svg/>", encoding="utf-8")

    clock.at(0.3, draw)
    assert svg_cache.drawn_ahead(KEY, tmp_path, wait_limit=10) == "<svg/>"
    assert 0.3 <= clock.now < 10


def test_a_stopped_helper_ends_the_wait(tmp_path: Path, clock: FakeClock) -> None:
    plan(tmp_path, KEY)
    clock.at(0.3, (tmp_path / svg_cache.DONE_MARK).touch)
    assert svg_cache.drawn_ahead(KEY, tmp_path, wait_limit=10) is None
    assert 0.3 <= clock.now < 10  # ended by the helper's stop, not by the limit


def test_a_stuck_helper_is_given_up_once(tmp_path: Path, clock: FakeClock) -> None:
    plan(tmp_path, KEY, "b" * 64)
    assert svg_cache.drawn_ahead(KEY, tmp_path, wait_limit=0.2) is None
    assert 0.2 < clock.now < 1  # given up at the limit
    assert (tmp_path / svg_cache.DONE_MARK).exists()  # the next chart does not wait again
    sleeps = clock.sleeps
    assert svg_cache.drawn_ahead("b" * 64, tmp_path, wait_limit=10) is None
    assert clock.sleeps == sleeps


def test_spec_key_is_that_of_the_exact_spec() -> None:
    spec = {"mark": "bar", "data": {"values": [{"a": 1, "b": "é"}]}}
    same = json.loads(json.dumps(spec))
    other_value = {"mark": "bar", "data": {"values": [{"a": 2, "b": "é"}]}}
    other_order = {"data": {"values": [{"a": 1, "b": "é"}]}, "mark": "bar"}
    assert charts.spec_key(spec) == charts.spec_key(same)
    assert charts.spec_key(spec) != charts.spec_key(other_value)
    assert charts.spec_key(spec) != charts.spec_key(other_order)
    assert re.fullmatch(r"[0-9a-f]{64}", charts.spec_key(spec))


def test_display_order_follows_the_notebook() -> None:
    names = ["matrice", "actions_par_annee", "inconnue", "domaines", "carte"]
    assert ahead.display_order(names, BILAN_NOTEBOOK) == [
        "actions_par_annee", "domaines", "carte", "matrice", "inconnue"]


# --------------------------------------------------------------------------- exactness


def shown_svgs(figures: dict, folder: Path, monkeypatch) -> dict[str, str]:
    """Display every figure as a report kernel does, with drawing forbidden."""
    monkeypatch.setenv(svg_cache.FOLDER_VARIABLE, str(folder))

    def refuse(spec):
        raise AssertionError("a chart was drawn instead of being taken from the helper")

    monkeypatch.setattr(render, "draw_svg", refuse)
    shown = {}
    for name, chart in figures.items():
        bundle, _ = chart._repr_mimebundle_()
        shown[name] = bundle["image/svg+xml"]
    return shown


@pytest.mark.parametrize("kind", ["bilan", "fiche"])
def test_the_helper_draws_exactly_what_the_notebook_shows(kind: str, small_data: Path,
                                                          tmp_path: Path, monkeypatch) -> None:
    if kind == "bilan":
        parameters = {"annee": 2016, "donnees": str(small_data), "seuils": [1, 2, 5]}
        figures = bilan_figures(Bilan.build(small_data, 2016, [1, 2, 5]))
    else:
        parameters = {"annee": 2017, "donnees": str(small_data), "code_insee": "59003"}
        figures = fiche_figures(Fiche.build(small_data, 2017, "59003"))
    charts.setup("static")
    expected = {name: charts.draw_svg(charts.to_dict(chart)) for name, chart in figures.items()}
    folder = tmp_path / "avance"
    folder.mkdir()

    notebook = BILAN_NOTEBOOK if kind == "bilan" else FICHE_NOTEBOOK
    assert ahead.main([str(folder), kind, str(notebook), json.dumps(parameters)]) == 0

    planned = json.loads((folder / svg_cache.PLAN_FILE).read_text(encoding="utf-8"))
    assert len(planned) == len(figures) >= 3
    assert sorted(p.stem for p in folder.glob("*.svg")) == planned
    assert shown_svgs(figures, folder, monkeypatch) == expected
    assert sorted(p.stem for p in folder.glob(f"*{svg_cache.TAKEN_SUFFIX}")) == planned


def test_a_failing_helper_is_reported_in_one_line(tmp_path: Path) -> None:
    lines: list[str] = []
    parameters = {"annee": 2016, "donnees": str(tmp_path / "absent"), "seuils": [1]}
    with ahead.drawing_ahead("bilan", BILAN_NOTEBOOK, parameters, log=lines.append) as env:
        folder = Path(env[svg_cache.FOLDER_VARIABLE])
        deadline = time.monotonic() + 60
        while not (folder / svg_cache.DONE_MARK).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (folder / svg_cache.DONE_MARK).exists(), "the helper should have stopped"
        clock = FakeClock()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(svg_cache, "time", clock)
            assert svg_cache.drawn_ahead(KEY, folder, wait_limit=10) is None
        assert clock.sleeps == 0  # a stopped helper is not waited for
    assert not folder.exists()
    assert len(lines) == 1
    assert lines[0].startswith("dessin anticipé des graphiques en échec (DataError : ")
    assert lines[0].endswith("0 repris, le noyau a dessiné les autres")


def test_a_helper_that_cannot_start_is_logged_and_skipped(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError("plus de processus")

    monkeypatch.setattr(ahead.subprocess, "Popen", refuse)
    lines: list[str] = []
    with ahead.drawing_ahead("bilan", BILAN_NOTEBOOK, {"annee": 2016},
                                 log=lines.append) as env:
        assert env == {}
    assert lines == ["dessin anticipé des graphiques impossible (OSError : plus de processus), "
                     "le noyau les dessine"]


def test_a_failing_run_logs_only_its_own_error(small_data: Path) -> None:
    lines: list[str] = []
    parameters = {"annee": 2016, "donnees": str(small_data), "seuils": [1, 2, 5]}
    with (pytest.raises(RuntimeError, match="panne"),
          ahead.drawing_ahead("bilan", BILAN_NOTEBOOK, parameters, log=lines.append)):
        raise RuntimeError("panne")
    assert lines == []


def test_a_cold_report_kernel_takes_every_chart_from_the_helper(small_data: Path,
                                                                tmp_path: Path) -> None:
    lines: list[str] = []
    parameters = {"annee": 2016, "donnees": str(small_data), "seuils": [1, 2, 5]}
    execute(BILAN_NOTEBOOK, tmp_path / "bilan.ipynb", parameters, draw_ahead="bilan",
            log=lines.append)
    assert len(lines) == 1
    match = re.fullmatch(r"graphiques dessinés d'avance, (\d+) sur (\d+) repris par le noyau",
                         lines[0])
    assert match, lines
    assert match.group(1) == match.group(2)
    assert int(match.group(1)) >= 8
    assert svg_cache.FOLDER_VARIABLE not in os.environ


def test_kernel_environment_is_restored_even_after_a_failure(monkeypatch) -> None:
    from mutualisation.config import CHART_MODE_VARIABLE
    from mutualisation.run.execute import _environment

    monkeypatch.setenv(CHART_MODE_VARIABLE, "interactif")
    monkeypatch.setenv(svg_cache.FOLDER_VARIABLE, "/ancien")
    with (pytest.raises(RuntimeError),
          _environment({CHART_MODE_VARIABLE: None, svg_cache.FOLDER_VARIABLE: "/nouveau"})):
        assert CHART_MODE_VARIABLE not in os.environ
        assert os.environ[svg_cache.FOLDER_VARIABLE] == "/nouveau"
        raise RuntimeError("panne")
    assert os.environ[CHART_MODE_VARIABLE] == "interactif"
    assert os.environ[svg_cache.FOLDER_VARIABLE] == "/ancien"
