"""The pool of warm kernels: isolation between runs, byte-identity with cold papermill,
failing cells, dead kernels, a failed run's changes undone, warm-ups and resets failing in
real kernels (the other failure paths, by fault injection: test_kernels_failures.py)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import nbformat
import pytest
from papermill.exceptions import PapermillExecutionError

from mutualisation.config import CHART_MODE_VARIABLE
from mutualisation.run import kernels
from mutualisation.run.execute import _strip_volatile, execute
from mutualisation.run.kernels import KernelPool, KernelPoolError

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

CHART_CELLS = [
    "import altair as alt\nimport polars as pl\nfrom mutualisation.present.notebook import setup\n"
    "setup()",
    "import os\nprint(os.environ.get('MUTUALISATION_GRAPHIQUES'))",
    "frame = pl.DataFrame({'commune': ['Alpha', 'Bêta'], 'actions': [1200, 3]})\nframe",
    "alt.Chart(frame).mark_bar().encode(x='actions:Q', y=alt.Y('commune:N', sort=None))",
    "alt.Chart(frame).mark_bar().encode(x='actions:Q', y=alt.Y('commune:N', sort=None))"
    ".properties(title=f'{titre} : {len(frame)} communes')",
    # A warning from a library module: shown once per process, so once per notebook only
    # if the pool resets the warning registries.
    "import noisy\nnoisy.warn()\nnoisy.warn()\n1 + 1",
]
NOISY = "import warnings\n\n\ndef warn():\n    warnings.warn('attention', UserWarning)\n"


def _exited(pid: int) -> bool:
    """Whether process ``pid`` is gone or a zombie (dead, not yet reaped by its parent)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the system whether the process still exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return fields[0] in ("Z", "X")


def wait_for_exit(pid: int, limit: float = 60) -> None:
    """Poll until process ``pid`` has died (the deadline only guards against a hang)."""
    deadline = time.monotonic() + limit
    while not _exited(pid):
        assert time.monotonic() < deadline, f"process {pid} still alive after SIGKILL"
        time.sleep(0.01)


def make_notebook(path: Path, parameters: str, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = KERNELSPEC
    first = nbformat.v4.new_code_cell(parameters)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first] + [nbformat.v4.new_code_cell(source) for source in cells]
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"
    nbformat.write(nb, path)
    return path


def stripped(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    _strip_volatile(nb)
    return nb


def counts(nb: nbformat.NotebookNode) -> list[int | None]:
    return [cell.execution_count for cell in nb.cells if cell.cell_type == "code"]


@pytest.fixture(scope="module")
def pool():
    # The analyst's shell may ask for interactive charts: the kernels must not see it.
    saved = os.environ.get(CHART_MODE_VARIABLE)
    os.environ[CHART_MODE_VARIABLE] = "interactif"
    try:
        kernels = KernelPool(1, timeout=120)
        kernels.start()
    finally:
        if saved is None:
            os.environ.pop(CHART_MODE_VARIABLE, None)
        else:
            os.environ[CHART_MODE_VARIABLE] = saved
    with kernels:
        yield kernels


def test_runs_do_not_see_each_other(pool: KernelPool, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "secret.ipynb", "valeur = 0", [
        "assert 'secret' not in globals(), 'variable of an earlier run'\nsecret = valeur",
        "import os\nprint(os.getcwd())\nprint(sorted(k for k in globals() if k.startswith('_i')"
        " and k[2:].isdigit()))",
    ])
    for run in (1, 2, 3):
        folder = tmp_path / f"run{run}"
        folder.mkdir()
        pool.execute(notebook, folder / "out.ipynb", {"valeur": run})
        nb = stripped(folder / "out.ipynb")
        assert counts(nb) == [1, 2, 3, 4]
        expected = f"{folder.resolve()}\n['_i1', '_i2', '_i3', '_i4']\n"
        assert nb.cells[-1].outputs[0]["text"] == expected
    assert pool.replaced_kernels == 0


def test_pool_output_equals_cold_papermill(pool: KernelPool, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "chart.ipynb", "titre = 'Titre'", CHART_CELLS)
    # Same folder for all runs: the warning's text names the module's path.
    (tmp_path / "noisy.py").write_text(NOISY, encoding="utf-8")
    outputs = {name: tmp_path / f"{name}.ipynb" for name in ("cold", "warm1", "warm2")}
    parameters = {"titre": "Bilan des communes"}
    saved = os.environ.get(CHART_MODE_VARIABLE)
    os.environ[CHART_MODE_VARIABLE] = "interactif"  # execute() must drop it too
    try:
        execute(notebook, outputs["cold"], parameters)
    finally:
        if saved is None:
            os.environ.pop(CHART_MODE_VARIABLE, None)
        else:
            os.environ[CHART_MODE_VARIABLE] = saved
    pool.execute(notebook, outputs["warm1"], parameters)
    pool.execute(notebook, outputs["warm2"], parameters)

    cold = stripped(outputs["cold"])
    assert any("image/svg+xml" in o.get("data", {}) for c in cold.cells for o in c.outputs)
    warnings_shown = [o for c in cold.cells for o in c.outputs if o.get("name") == "stderr"]
    assert len(warnings_shown) == 1  # two calls, one warning shown
    for name in ("warm1", "warm2"):
        warm = stripped(outputs[name])
        assert counts(warm) == counts(cold)
        for cold_cell, warm_cell in zip(cold.cells, warm.cells, strict=True):
            assert warm_cell == cold_cell
        assert warm == cold
        assert outputs[name].read_bytes() != b""


def test_failing_cell_raises_and_pool_keeps_working(pool: KernelPool, tmp_path: Path) -> None:
    failing = make_notebook(tmp_path / "failing.ipynb", "n = 1",
                            ["x = 41", "raise ValueError('boum')", "y = 2"])
    with pytest.raises(PapermillExecutionError) as info:
        pool.execute(failing, tmp_path / "failing-out.ipynb", {"n": 2})
    assert info.value.ename == "ValueError"
    partial = nbformat.read(tmp_path / "failing-out.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in partial.cells
               for o in c.get("outputs", []))

    good = make_notebook(tmp_path / "good.ipynb", "n = 1",
                         ["assert 'x' not in globals()\nprint(n * 2)"])
    pool.execute(good, tmp_path / "good-out.ipynb", {"n": 21})
    nb = nbformat.read(tmp_path / "good-out.ipynb", as_version=4)
    assert nb.cells[-1].outputs[0]["text"] == "42\n"
    assert pool.replaced_kernels == 0


def test_dead_kernel_is_replaced(pool: KernelPool, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "simple.ipynb", "n = 1", ["print(n + 1)"])
    (pid,) = pool.kernel_pids()
    os.kill(pid, signal.SIGKILL)
    wait_for_exit(pid)
    pool.execute(notebook, tmp_path / "after-kill.ipynb", {"n": 1})
    nb = nbformat.read(tmp_path / "after-kill.ipynb", as_version=4)
    assert nb.cells[-1].outputs[0]["text"] == "2\n"
    assert counts(nb) == [1, 2, 3]
    assert pool.replaced_kernels == 1
    assert pool.kernel_pids() != [pid]

    # A kernel dying DURING a run: the run fails, the pool replaces the kernel.
    dying = make_notebook(tmp_path / "dying.ipynb", "n = 1", ["import os\nos._exit(1)"])
    with pytest.raises(Exception):  # noqa: B017 - nbclient's DeadKernelError or similar
        pool.execute(dying, tmp_path / "dying-out.ipynb", {})
    assert pool.replaced_kernels == 2
    pool.execute(notebook, tmp_path / "after-death.ipynb", {"n": 4})
    nb = nbformat.read(tmp_path / "after-death.ipynb", as_version=4)
    assert nb.cells[-1].outputs[0]["text"] == "5\n"


PROBE = """\
import json, os, sys, warnings
import altair as alt
import polars as pl
print(json.dumps({"environ": dict(os.environ), "path": sys.path, "cwd": os.getcwd(),
                  "filters": [repr(f) for f in warnings.filters],
                  "renderer": alt.renderers.active, "polars": pl.Config.state(if_set=True)},
                 sort_keys=True))"""
MESS = """\
import os, sys, warnings
import altair as alt
import polars as pl
os.environ["MUTUALISATION_TEST"] = "1"
os.environ.pop("PATH", None)
sys.path.insert(0, "/nulle/part")
warnings.simplefilter("ignore")
alt.renderers.enable("html")
pl.Config.set_tbl_rows(2)
os.chdir("/")
raise RuntimeError("tout est sens dessus dessous")"""


def test_a_failed_run_leaves_its_changes_to_no_later_run(pool: KernelPool,
                                                         tmp_path: Path) -> None:
    probe = make_notebook(tmp_path / "probe.ipynb", "n = 0", [PROBE])
    mess = make_notebook(tmp_path / "mess.ipynb", "n = 0", [MESS])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    replaced = pool.replaced_kernels
    pool.execute(probe, tmp_path / "a" / "before.ipynb", {})
    with pytest.raises(PapermillExecutionError, match="sens dessus dessous"):
        pool.execute(mess, tmp_path / "b" / "mess.ipynb", {})
    pool.execute(probe, tmp_path / "a" / "after.ipynb", {})
    before, after = (nbformat.read(tmp_path / "a" / f"{name}.ipynb", as_version=4)
                     .cells[-1].outputs[0]["text"] for name in ("before", "after"))
    assert after == before
    assert '"MUTUALISATION_TEST"' not in after and "/nulle/part" not in after
    assert pool.replaced_kernels == replaced  # an error in a cell: the same kernel


class _RecordingManager(kernels._PoolKernelManager):
    pids: list[int] = []

    def start_kernel(self, **kwargs: object) -> None:
        super().start_kernel(**kwargs)
        self.pids.append(self.provisioner.process.pid)


@pytest.fixture
def recorded_pids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pids: list[int] = []
    monkeypatch.setattr(_RecordingManager, "pids", pids)
    monkeypatch.setattr(kernels, "_PoolKernelManager", _RecordingManager)
    return pids


def test_a_real_warm_up_failure_is_named_and_its_kernel_stopped(
        recorded_pids: list[int]) -> None:
    pool = KernelPool(1, imports=(), warm_up="raise ValueError('tiède')\n")
    with pytest.raises(KernelPoolError, match="^démarrage des noyaux impossible : noyau 1 : "
                                              "ValueError : tiède$"):
        pool.start()
    (pid,) = recorded_pids
    wait_for_exit(pid)
    assert pool.kernel_pids() == []


def test_a_real_kernel_failing_its_reset_twice(recorded_pids: list[int], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = make_notebook(tmp_path / "simple.ipynb", "n = 1", ["print(n + 1)"])
    with KernelPool(1, imports=(), warm_up=None) as pool:
        monkeypatch.setattr(kernels, "_RESET_CODE", "raise RuntimeError('pas de remise')\n")
        with pytest.raises(KernelPoolError, match="^noyau 2 : RuntimeError : pas de remise$"):
            pool.execute(notebook, tmp_path / "out.ipynb", {"n": 1})
        wait_for_exit(recorded_pids[0])  # the first one, replaced, was stopped
        monkeypatch.undo()
        pool.execute(notebook, tmp_path / "out.ipynb", {"n": 20})
        nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
        assert nb.cells[-1].outputs[0]["text"] == "21\n"
    for pid in recorded_pids:
        wait_for_exit(pid)
