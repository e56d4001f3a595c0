"""The pool of warm kernels when things go wrong (issue 11), by fault injection.

The kernel managers are replaced by fakes (no process: a kernel is "alive" until shut down
or killed by the test) and papermill's ``execute_notebook`` by a function the test
scripts, so that each failure happens exactly where the test says: a kernel that cannot
start, a warm-up or a reset that fails in the kernel (an error reply, as a real kernel
gives), a kernel that dies before or during a run, a state that cannot be read, a
replacement that cannot start, a pool closed while a run holds or waits for a kernel.
The pool's own code (``_run_silently``, ``_prepare``, ``_settle``…) runs unchanged.

The code that runs inside the kernels (``_kernel_snapshot``, ``_kernel_restore``) is
tested here in this process too; ``test_kernels.py`` checks it in real kernels.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

from mutualisation.run import kernels
from mutualisation.run.kernels import KernelPool, KernelPoolError, _PoolKernelManager

RESET = "._kernel_restore("  # in the reset code only
SNAPSHOT = "._kernel_snapshot()"  # in the warm-up code only


class World:
    """What the fake kernels and the fake papermill do, scripted by each test."""

    def __init__(self) -> None:
        self.managers: list[FakeManager] = []
        self.pids = itertools.count(1000)
        #: Called with the manager before a kernel starts: may raise (start refused).
        self.on_start: Callable[[FakeManager], None] = lambda km: None
        #: Called with (manager, code) for each silent run: returns an error reply or None.
        self.on_silent: Callable[[FakeManager, str], dict[str, Any] | None] = (
            lambda km, code: None)
        #: Called with the manager and the parameters for each notebook run: may raise.
        self.on_run: Callable[[FakeManager, dict[str, Any]], None] = lambda km, params: None
        self.runs: list[tuple[int, dict[str, Any]]] = []  # (kernel pid, parameters)
        self.silent: list[tuple[int, str]] = []  # (kernel pid, code)

    def alive(self) -> list[int]:
        return [km.pid for km in self.managers if km.alive]

    def execute_notebook(self, notebook: str, output: str, *, parameters: dict[str, Any],
                         km: FakeManager, **_: Any) -> None:
        km.client()  # papermill makes a client per run, which the pool must stop
        self.runs.append((km.pid, parameters))
        self.on_run(km, parameters)


class FakeClient:
    def __init__(self, km: FakeManager) -> None:
        self.km = km
        self.stopped = False

    def start_channels(self) -> None:
        pass

    def wait_for_ready(self, timeout: float) -> None:
        pass

    def execute_interactive(self, code: str, **_: Any) -> dict[str, Any]:
        world = self.km.world
        world.silent.append((self.km.pid, code))
        error = world.on_silent(self.km, code)
        return {"content": error if error is not None else {"status": "ok"}}

    def stop_channels(self) -> None:
        self.stopped = True


class FakeManager:
    """A kernel manager without a kernel: the pool's interface, nothing more."""

    world: World

    def __init__(self, **kwargs: Any) -> None:
        self.kernel_name = kwargs.get("kernel_name")
        self.pid = next(self.world.pids)
        self.alive = False
        self.has_kernel = False
        self.env: dict[str, str] | None = None
        self.clients: list[FakeClient] = []
        self.state_unreadable = False
        self.refuse_shutdown = False
        self.provisioner: Any = None

    def start_kernel(self, *, extra_arguments: list[str], env: dict[str, str],
                     cwd: str) -> None:
        self.world.on_start(self)
        self.world.managers.append(self)
        self.alive = self.has_kernel = True
        self.env = env
        self.provisioner = type("Provisioner", (), {"process": type("P", (), {"pid": self.pid})})

    def is_alive(self) -> bool:
        if self.state_unreadable:
            raise OSError("état du noyau illisible")
        return self.alive

    def shutdown_kernel(self, now: bool = False) -> None:
        if self.refuse_shutdown:
            raise RuntimeError("arrêt refusé")
        self.alive = self.has_kernel = False

    def client(self) -> FakeClient:
        kc = FakeClient(self)
        self.clients.append(kc)
        return kc

    blocking_client = client

    def stop_clients(self) -> None:
        for kc in self.clients:
            kc.stop_channels()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    scripted = World()
    fake = type("BoundFakeManager", (FakeManager,), {"world": scripted})
    monkeypatch.setattr(kernels, "_PoolKernelManager", fake)
    monkeypatch.setattr(papermill, "execute_notebook", scripted.execute_notebook)
    return scripted


def error(ename: str, evalue: str) -> dict[str, Any]:
    return {"status": "error", "ename": ename, "evalue": evalue, "traceback": []}


def run(pool: KernelPool, tmp_path: Path, n: int) -> None:
    pool.execute(tmp_path / "in.ipynb", tmp_path / "out" / "out.ipynb", {"n": n})


def test_a_kernel_failing_its_reset_once_is_replaced_and_the_run_goes_on(
        world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    failed: list[int] = []

    def reset_fails_once(km: FakeManager, code: str) -> dict[str, Any] | None:
        if RESET in code and not failed:
            failed.append(km.pid)
            return error("RuntimeError", "remise à zéro impossible")
        return None

    world.on_silent = reset_fails_once
    with KernelPool(1) as pool:
        (first,) = pool.kernel_pids()
        run(pool, tmp_path, 1)
        assert failed == [first]
        (second,) = pool.kernel_pids()
        assert second != first
        assert world.runs == [(second, {"n": 1})]  # the run went to the fresh kernel
        assert world.alive() == [second]  # the failed one was shut down
        assert (pool.started_kernels, pool.replaced_kernels) == (2, 1)
        # The fresh kernel was warmed, then reset into the output's folder.
        reset = [code for pid, code in world.silent if pid == second]
        assert SNAPSHOT in reset[0]
        assert repr(str((tmp_path / "out").resolve())) in reset[1]
    assert world.alive() == []
    assert "noyau 1 remplacé : noyau 1 : RuntimeError : remise à zéro impossible" in (
        caplog.text)


def test_a_kernel_failing_its_reset_twice_fails_the_run_and_the_pool_recovers(
        world: World, tmp_path: Path) -> None:
    world.on_silent = lambda km, code: error("RuntimeError", "non") if RESET in code else None
    with KernelPool(1) as pool:
        with pytest.raises(KernelPoolError, match=r"^noyau 2 : RuntimeError : non$"):
            run(pool, tmp_path, 1)
        assert world.runs == []  # papermill never ran
        world.on_silent = lambda km, code: None
        run(pool, tmp_path, 2)  # a kernel is free again and resets fine
        assert [params for _, params in world.runs] == [{"n": 2}]
    assert world.alive() == []


def test_a_kernel_failing_its_reset_twice_leaves_no_kernel_behind(
        world: World, tmp_path: Path) -> None:
    world.on_silent = lambda km, code: error("RuntimeError", "non") if RESET in code else None
    with KernelPool(1) as pool:
        with pytest.raises(KernelPoolError):
            run(pool, tmp_path, 1)
        assert len(world.alive()) == 1  # one pool of one kernel: one kernel running
        assert pool.kernel_pids() == world.alive()


def test_a_dead_kernel_is_replaced_before_the_run(world: World, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with KernelPool(1) as pool:
        (first,) = pool.kernel_pids()
        world.managers[0].alive = False  # died while idle
        run(pool, tmp_path, 1)
        (second,) = pool.kernel_pids()
        assert world.runs == [(second, {"n": 1})]
        assert pool.replaced_kernels == 1
        # No reset was even tried on the dead kernel.
        assert [code for pid, code in world.silent if pid == first and RESET in code] == []
    assert "noyau 1 remplacé : noyau 1 arrêté" in caplog.text


def test_a_kernel_dying_during_a_run_fails_that_run_only(world: World, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    def dies(km: FakeManager, params: dict[str, Any]) -> None:
        if params["n"] == 1:
            km.alive = False
            raise RuntimeError("DeadKernelError")

    world.on_run = dies
    with KernelPool(1) as pool:
        (first,) = pool.kernel_pids()
        with pytest.raises(RuntimeError, match="DeadKernelError"):
            run(pool, tmp_path, 1)
        assert pool.replaced_kernels == 1
        assert all(kc.stopped for kc in world.managers[0].clients)
        run(pool, tmp_path, 2)
        (second,) = pool.kernel_pids()
        assert second != first
        assert world.runs == [(first, {"n": 1}), (second, {"n": 2})]
    assert "noyau 1 remplacé (arrêté)" in caplog.text


def test_a_run_failing_outside_a_cell_replaces_a_live_kernel(world: World, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture
                                                            ) -> None:
    def times_out(km: FakeManager, params: dict[str, Any]) -> None:
        if params["n"] == 1:
            raise TimeoutError("cellule trop longue")

    world.on_run = times_out
    with KernelPool(1) as pool:
        (first,) = pool.kernel_pids()
        with pytest.raises(TimeoutError):
            run(pool, tmp_path, 1)
        assert pool.replaced_kernels == 1
        assert first not in world.alive()  # still alive, but not trusted: shut down
        run(pool, tmp_path, 2)
    assert "noyau 1 remplacé (échec)" in caplog.text


def test_an_error_in_a_cell_keeps_the_kernel(world: World, tmp_path: Path) -> None:
    def cell_fails(km: FakeManager, params: dict[str, Any]) -> None:
        if params["n"] == 1:
            raise PapermillExecutionError(1, 1, "raise", "ValueError", "boum", [])

    world.on_run = cell_fails
    with KernelPool(1) as pool:
        with pytest.raises(PapermillExecutionError):
            run(pool, tmp_path, 1)
        run(pool, tmp_path, 2)
        assert pool.replaced_kernels == 0
        assert {pid for pid, _ in world.runs} == set(pool.kernel_pids())


def test_a_kernel_whose_state_cannot_be_read_is_replaced(world: World,
                                                         tmp_path: Path) -> None:
    def unreadable(km: FakeManager, params: dict[str, Any]) -> None:
        km.state_unreadable = True

    world.on_run = unreadable
    with KernelPool(1) as pool:
        (first,) = pool.kernel_pids()
        run(pool, tmp_path, 1)  # the run itself went well
        assert pool.replaced_kernels == 1
        assert pool.kernel_pids() != [first]


def test_a_replacement_that_cannot_start_leaves_a_pool_that_says_so(
        world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def dies(km: FakeManager, params: dict[str, Any]) -> None:
        km.alive = False
        raise RuntimeError("DeadKernelError")

    def refuse(km: FakeManager) -> None:
        raise OSError("plus de mémoire")

    world.on_run = dies
    with KernelPool(1) as pool:
        world.on_start = refuse
        with pytest.raises(RuntimeError, match="DeadKernelError"):  # the run's own error
            run(pool, tmp_path, 1)
        assert "remplacement d'un noyau impossible" in caplog.text
        assert pool.kernel_pids() == []
        # No kernel left: the next run is told at once instead of waiting forever.
        with pytest.raises(KernelPoolError, match="plus aucun noyau disponible"):
            run(pool, tmp_path, 2)
    assert world.alive() == []


def test_a_kernel_that_cannot_start_fails_the_start_and_stops_the_others(
        world: World) -> None:
    starts = itertools.count(1)

    def second_refused(km: FakeManager) -> None:
        if next(starts) == 2:
            raise OSError("noyau introuvable")

    world.on_start = second_refused
    pool = KernelPool(2)
    with pytest.raises(KernelPoolError, match="^démarrage des noyaux impossible : noyau "
                                              "introuvable$") as info:
        pool.start()
    assert isinstance(info.value.__cause__, OSError)
    assert len(world.managers) == 1  # the one that started…
    assert world.alive() == []  # …was shut down
    with pytest.raises(KernelPoolError, match="fermé"):
        pool.execute(Path("in.ipynb"), Path("out.ipynb"), {})


def test_a_warm_up_failing_in_the_kernel_names_the_kernel_and_the_error(
        world: World) -> None:
    world.on_silent = lambda km, code: (error("ModuleNotFoundError", "No module named 'x'")
                                        if SNAPSHOT in code else None)
    with pytest.raises(KernelPoolError) as info:
        KernelPool(1).start()
    assert str(info.value) == ("démarrage des noyaux impossible : noyau 1 : "
                               "ModuleNotFoundError : No module named 'x'")
    assert world.alive() == []
    assert all(kc.stopped for km in world.managers for kc in km.clients)


def test_the_warm_up_code_imports_what_it_can(world: World) -> None:
    with KernelPool(1, imports=("polars", "absent"), warm_up="x = 1\n"):
        pass
    ((_, code),) = world.silent
    assert code.startswith("for _name in ('polars', 'absent'):\n")
    assert "except ImportError:\n        pass\nx = 1\n" in code
    namespace: dict[str, Any] = {}
    exec(code.split("x = 1\n")[0], namespace)  # an absent module is skipped, not raised
    with KernelPool(1, warm_up=None):
        pass
    assert world.silent[1][1].endswith("pass\n" + '__import__("mutualisation.run.kernels", '
                                       'fromlist=["_"])._kernel_snapshot()\n')


def test_the_kernels_never_see_the_chart_variables(world: World,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from mutualisation.config import CHART_MODE_VARIABLE
    from mutualisation.present.svg_cache import FOLDER_VARIABLE as VARIABLE

    monkeypatch.setenv(CHART_MODE_VARIABLE, "interactif")
    monkeypatch.setenv(VARIABLE, "/tmp/dessins")
    monkeypatch.setenv("MUTUALISATION_AUTRE", "gardée")
    with KernelPool(1):
        (km,) = world.managers
    assert km.env is not None
    assert CHART_MODE_VARIABLE not in km.env and VARIABLE not in km.env
    assert km.env["MUTUALISATION_AUTRE"] == "gardée"
    assert os.environ[CHART_MODE_VARIABLE] == "interactif"  # the caller's own is kept


def test_closing_the_pool_during_a_run_shuts_its_kernel_down(world: World,
                                                            tmp_path: Path) -> None:
    pool = KernelPool(1)
    world.on_run = lambda km, params: pool.close()
    pool.start()
    run(pool, tmp_path, 1)
    assert world.alive() == []
    assert pool.replaced_kernels == 0  # no replacement for a closed pool
    with pytest.raises(KernelPoolError, match="le groupe de noyaux est fermé"):
        run(pool, tmp_path, 2)


def test_a_kernel_that_refuses_to_stop_is_shut_down_again_when_given_back(
        world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mutualisation.run.kernels")
    pool = KernelPool(1)

    def close_while_stuck(km: FakeManager, params: dict[str, Any]) -> None:
        km.refuse_shutdown = True
        pool.close()  # cannot stop it: it is still alive when the run ends
        km.refuse_shutdown = False

    world.on_run = close_while_stuck
    pool.start()
    run(pool, tmp_path, 1)
    assert "arrêt du noyau 1 impossible" in caplog.text
    assert world.alive() == []  # given back to a closed pool: shut down then


def test_a_run_waiting_for_a_kernel_is_told_when_the_pool_closes(world: World,
                                                                 tmp_path: Path) -> None:
    pool = KernelPool(1)
    pool.start()
    held = pool._borrow()  # the only kernel is busy
    outcome: list[BaseException] = []
    waiting = threading.Event()

    class Watched(queue.Queue):
        def get(self, block: bool = True, timeout: float | None = None) -> Any:
            waiting.set()
            return super().get(block, timeout=0.01)

    pool._free = Watched()

    def waiter() -> None:
        try:
            run(pool, tmp_path, 1)
        except BaseException as err:  # noqa: BLE001 - handed to the test thread
            outcome.append(err)

    thread = threading.Thread(target=waiter)
    thread.start()
    assert waiting.wait(60)  # the deadline only guards against a hang
    pool.close()
    thread.join(60)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], KernelPoolError)
    # Which of the two depends on when close() lands between the waiter's two checks.
    assert str(outcome[0]) in ("le groupe de noyaux est fermé", "plus aucun noyau disponible")
    assert not held.km.alive and world.runs == []


def test_a_run_waits_for_the_kernel_another_run_holds(world: World, tmp_path: Path) -> None:
    release = threading.Event()
    started = threading.Event()

    def first_holds(km: FakeManager, params: dict[str, Any]) -> None:
        if params["n"] == 1:
            started.set()
            assert release.wait(60)

    world.on_run = first_holds
    with KernelPool(1) as pool:
        gets: list[str] = []
        free = pool._free

        class Watched(queue.Queue):
            def get(self, block: bool = True, timeout: float | None = None) -> Any:
                try:
                    return free.get(block, timeout=0.01)
                except queue.Empty:
                    gets.append("empty")
                    release.set()  # the second run waits: let the first one end
                    raise

            def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
                free.put(item, block, timeout)

        pool._free = Watched()
        first = threading.Thread(target=run, args=(pool, tmp_path, 1))
        first.start()
        assert started.wait(60)
        run(pool, tmp_path, 2)  # waits until the first run gives the kernel back
        first.join(60)
        assert not first.is_alive()
        assert gets and [params["n"] for _, params in world.runs] == [1, 2]
        assert pool.replaced_kernels == 0


def test_run_many_reports_each_error_in_job_order(world: World, tmp_path: Path) -> None:
    def odd_fails(km: FakeManager, params: dict[str, Any]) -> None:
        if params["n"] % 2:
            raise PapermillExecutionError(1, 1, "raise", "ValueError", str(params["n"]), [])

    world.on_run = odd_fails
    done: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def on_done(job: tuple[Path, Path, dict[str, Any]], err: BaseException | None) -> None:
        with lock:
            done.append((job[2]["n"], None if err is None else type(err).__name__))

    jobs = [(tmp_path / "in.ipynb", tmp_path / f"{n}" / "out.ipynb", {"n": n})
            for n in range(4)]
    with KernelPool(2) as pool:
        errors = pool.run_many(jobs, on_done)
        assert [None if e is None else e.evalue for e in errors] == [None, "1", None, "3"]
        assert sorted(done) == [(0, None), (1, "PapermillExecutionError"), (2, None),
                                (3, "PapermillExecutionError")]
        assert pool.run_many([]) == []


def test_a_pool_needs_one_kernel_and_starts_once(world: World, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        KernelPool(0)
    pool = KernelPool(1)
    run(pool, tmp_path, 1)  # started on first use
    pool.start()  # a second start does nothing
    assert pool.started_kernels == 1
    pool.close()
    pool.close()  # idempotent
    assert world.alive() == []


def test_kernel_pids_skips_a_kernel_without_a_process(world: World) -> None:
    with KernelPool(2) as pool:
        world.managers[0].provisioner = None
        assert pool.kernel_pids() == [world.managers[1].pid]


# ------------------------------------------------------------- the real manager's clients


def test_clients_that_fail_to_stop_do_not_stop_the_others(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mutualisation.run.kernels")

    class Client:
        def __init__(self, fails: bool) -> None:
            self.fails, self.stopped = fails, False

        def stop_channels(self) -> None:
            if self.fails:
                raise RuntimeError("socket fermée")
            self.stopped = True

    km = _PoolKernelManager(kernel_name="python3")
    clients = [Client(True), Client(False)]
    for kc in clients:
        km._track(kc)
    km.stop_clients()
    assert clients[1].stopped
    assert "arrêt d'un client de noyau impossible" in caplog.text
    assert km._clients == []
    km.stop_clients()  # nothing left to stop


def test_the_blocking_client_gets_curve_keys_as_bytes(tmp_path: Path) -> None:
    class Manager(_PoolKernelManager):
        def get_connection_info(self, session: bool = False) -> dict[str, Any]:
            info = dict(super().get_connection_info(session=session))
            info["curve_publickey"] = "abc"  # text, not the bytes the client wants
            return info

    km = Manager(kernel_name="python3")
    km.connection_file = str(tmp_path / "kernel.json")
    km.write_connection_file()
    try:
        kc = km.blocking_client()
        assert km._clients == [kc]
        assert getattr(kc, "curve_publickey", b"abc") == b"abc"
    finally:
        km.stop_clients()
        km.cleanup_connection_file()


# ------------------------------------------------------ code run inside the kernels


@pytest.fixture
def snapshot(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    recorded: dict[str, Any] = {}
    monkeypatch.setattr(kernels, "_SNAPSHOT", recorded)
    return recorded


def test_the_kernel_state_is_restored_after_a_run_changed_it(
        snapshot: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import altair as alt
    import polars as pl

    monkeypatch.chdir(tmp_path)
    start = str(tmp_path)
    monkeypatch.setattr(sys, "path", [start, *sys.path])
    environ, path = dict(os.environ), list(sys.path)
    filters = list(warnings.filters)
    renderer = alt.renderers.active
    polars_config = pl.Config.save()
    kernels._kernel_snapshot()
    elsewhere = tmp_path / "sortie"
    elsewhere.mkdir()
    try:
        # What a notebook may do.
        os.environ["MUTUALISATION_TEST"] = "1"
        del os.environ[next(iter(environ))]
        sys.path.append("/nulle/part")
        warnings.simplefilter("error")
        alt.renderers.enable("html")
        pl.Config.set_tbl_rows(3)
        os.chdir("/")
        kernels._kernel_restore(str(elsewhere))
        assert dict(os.environ) == environ
        assert sys.path == [str(elsewhere), *path[1:]]  # the start folder's entry follows
        assert Path.cwd() == elsewhere
        assert warnings.filters == filters
        assert alt.renderers.active == renderer
        assert pl.Config.state(if_set=True).get("POLARS_FMT_MAX_ROWS") is None
    finally:
        os.environ.clear()
        os.environ.update(environ)
        warnings.filters[:] = filters
        alt.renderers.enable(renderer)
        pl.Config.restore_defaults()
        pl.Config.load(polars_config)


def test_the_kernel_state_without_altair_nor_polars(snapshot: dict[str, Any], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "altair", raising=False)
    monkeypatch.delitem(sys.modules, "polars", raising=False)
    kernels._kernel_snapshot()
    assert snapshot["registries"] == [] and snapshot["polars"] is None
    environ = dict(os.environ)
    try:
        os.environ["MUTUALISATION_TEST"] = "1"
        kernels._kernel_restore(str(tmp_path))
        assert dict(os.environ) == environ
    finally:
        os.environ.clear()
        os.environ.update(environ)


def test_run_many_without_a_callback(world: World, tmp_path: Path) -> None:
    jobs = [(tmp_path / "in.ipynb", tmp_path / f"{n}" / "out.ipynb", {"n": n}) for n in (1, 2)]
    with KernelPool(1) as pool:
        assert pool.run_many(jobs) == [None, None]
    assert [params for _, params in world.runs] == [{"n": 1}, {"n": 2}]
