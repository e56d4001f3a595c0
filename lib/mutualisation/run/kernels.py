"""A pool of warm Jupyter kernels that runs many papermill notebooks fast.

papermill's own cost per notebook is a kernel start plus the imports of polars, Altair
and the project (about 5-6 s). :class:`KernelPool` starts ``size`` kernels once, warms
them (imports, one throwaway vl-convert conversion) and then hands papermill one of them
per notebook (``km=``), so only the notebook's own work is paid for each run::

    with KernelPool() as pool:
        pool.execute(notebook, output, {"annee": 2019, "donnees": "data"})

Every executed notebook is the one a cold ``papermill.execute_notebook`` would write
(volatile metadata apart: timestamps, durations, the injected cell's random id). Before
each run the borrowed kernel is put back in the state a fresh kernel has after the same
imports:

- ``get_ipython().reset(new_session=True)``: empty namespace, ``In``/``Out`` and
  ``_``/``_1``… cleared, execution counts restarting at 1 (the reset itself runs
  ``silent``, so it takes no count);
- the working directory becomes the output's folder (what ``cwd=`` does for a cold
  kernel), and the ``sys.path`` entry of the start directory follows it;
- ``os.environ``, ``sys.path``, the warnings filters, the "already shown" registries of
  warnings (a warm kernel would otherwise show a ``default`` warning once per process,
  not once per notebook), the Altair renderer/theme/data-transformer registries and the
  polars display configuration are restored to their state right after warm-up.

State that a notebook leaves in other modules (module globals, caches of other
libraries) is NOT reset: the pool is meant for the project's notebooks, which only
read data, display and set the chart renderer through :func:`mutualisation.present.notebook.setup`.

A kernel that died, or whose run failed otherwise than by an error in a cell
(``PapermillExecutionError``), e.g. a timeout, is shut down and replaced by a fresh
warm one. :meth:`KernelPool.execute` is thread-safe: call it from up to ``size``
threads at once (more threads just wait for a free kernel).
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import papermill
from jupyter_client import KernelManager
from papermill.exceptions import PapermillExecutionError

from mutualisation.config import CHART_MODE_VARIABLE, KERNEL_NAME, PAPERMILL_OPTIONS
from mutualisation.config import KERNEL_ARGUMENTS as REPORT_KERNEL_ARGUMENTS
from mutualisation.present.svg_cache import FOLDER_VARIABLE as DRAWN_AHEAD_VARIABLE
from mutualisation.run.execute import usable_cores

log = logging.getLogger(__name__)

#: Modules imported by every kernel at warm-up: what the project's notebooks import. A module
#: that cannot be imported is skipped (a notebook importing it fails as it would cold).
DEFAULT_IMPORTS: tuple[str, ...] = (
    "polars",
    "altair",
    "vl_convert",
    "great_tables",
    "IPython.display",
    "mutualisation.compute.bilan",
    "mutualisation.compute.fiche",
    "mutualisation.present.charts",
    "mutualisation.present.bilan_text",
    "mutualisation.present.fiche_text",
    "mutualisation.present.figures",
    "mutualisation.present.notebook",
)
#: Extra warm-up code: one throwaway SVG conversion, so that vl-convert's first-call cost
#: (~0.6 s) is paid once per kernel and not by its first notebook. The renumbering of
#: :func:`mutualisation.present.charts.to_svg` keeps later SVGs independent of this conversion.
DEFAULT_WARM_UP = """\
import altair as _alt
import polars as _pl
from mutualisation.present.charts import to_svg as _to_svg
_to_svg(_alt.Chart(_pl.DataFrame({"x": [1]})).mark_bar().encode(x="x:Q"))
"""
#: Same history file as nbclient gives the kernels it starts (no SQLite file, no lock), and
#: the same arguments as cold report runs.
KERNEL_ARGUMENTS = ("--HistoryManager.hist_file=:memory:", *REPORT_KERNEL_ARGUMENTS)


class KernelPoolError(RuntimeError):
    """A kernel of the pool could not be started, warmed or reset."""


# --------------------------------------------------------------------------
# Kernel side: run INSIDE the kernels (this module is imported there at warm-up).
# --------------------------------------------------------------------------

_SNAPSHOT: dict[str, Any] = {}
_REGISTRY_ATTRIBUTES = ("_active", "_active_name", "_options", "_global_settings")


def _altair_registries() -> list[Any]:
    alt = sys.modules.get("altair")
    if alt is None:
        return []
    registries = [getattr(alt, "renderers", None), getattr(alt, "data_transformers", None)]
    theme = getattr(alt, "theme", None)
    registries.append(getattr(theme, "_themes", None))
    return [r for r in registries if r is not None]


def _kernel_snapshot() -> None:
    """Record the state to restore before each run (called once, after warm-up)."""
    import warnings

    _SNAPSHOT["environ"] = dict(os.environ)
    _SNAPSHOT["path"] = list(sys.path)
    _SNAPSHOT["cwd"] = os.getcwd()
    _SNAPSHOT["filters"] = list(warnings.filters)
    _SNAPSHOT["registries"] = [
        (registry, {name: _copy(getattr(registry, name)) for name in _REGISTRY_ATTRIBUTES
                    if hasattr(registry, name)})
        for registry in _altair_registries()
    ]
    pl = sys.modules.get("polars")
    _SNAPSHOT["polars"] = pl.Config.save() if pl is not None else None


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _kernel_restore(cwd: str) -> None:
    """Put the process back in its post-warm-up state, with ``cwd`` as working directory."""
    import warnings

    pl = sys.modules.get("polars")
    if pl is not None and _SNAPSHOT.get("polars") is not None:
        pl.Config.restore_defaults()
        pl.Config.load(_SNAPSHOT["polars"])
    for registry, attributes in _SNAPSHOT.get("registries", []):
        for name, value in attributes.items():
            setattr(registry, name, _copy(value))
    os.environ.clear()
    os.environ.update(_SNAPSHOT["environ"])
    os.chdir(cwd)
    start = _SNAPSHOT["cwd"]
    sys.path[:] = [cwd if entry == start else entry for entry in _SNAPSHOT["path"]]
    warnings.filters[:] = _SNAPSHOT["filters"]
    warnings.onceregistry.clear()
    # Invalidates every module's __warningregistry__: "default" warnings show again.
    warnings._filters_mutated()


_RESET_CODE = """\
__import__("mutualisation.run.kernels", fromlist=["_"])._kernel_restore({cwd!r})
get_ipython().reset(new_session=True)
"""


# --------------------------------------------------------------------------
# Caller side
# --------------------------------------------------------------------------


class _PoolKernelManager(KernelManager):
    """A kernel manager that remembers the clients made from it, to close them after a run.

    papermill/nbclient make a new client per notebook and, when the kernel manager is not
    theirs (``owns_km`` false), neither shut the kernel down nor stop that client's
    channels: the pool stops them, or every run would leave ZMQ sockets open.

    The clients it gives nbclient are ASYNCHRONOUS: with the default blocking client,
    nbclient's wait for output blocks its event loop, so a kernel dying in the middle
    of a cell is never noticed (the run hangs forever). The pool's own silent runs use
    :meth:`blocking_client`.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("client_class", "jupyter_client.asynchronous.AsyncKernelClient")
        super().__init__(**kwargs)
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()

    def client(self, **kwargs: Any) -> Any:
        kc = super().client(**kwargs)
        self._track(kc)
        return kc

    def blocking_client(self) -> Any:
        from jupyter_client.blocking import BlockingKernelClient

        info: dict[str, Any] = dict(self.get_connection_info(session=True))
        for key in ("curve_publickey", "curve_secretkey"):
            if isinstance(info.get(key), str):
                info[key] = info[key].encode("ascii")
        kc = BlockingKernelClient(connection_file=self.connection_file, parent=self, **info)
        self._track(kc)
        return kc

    def _track(self, kc: Any) -> None:
        with self._clients_lock:
            self._clients.append(kc)

    def stop_clients(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for kc in clients:
            try:
                kc.stop_channels()
            except Exception:  # a client of a dead kernel may fail to stop: nothing to keep
                log.debug("arrêt d'un client de noyau impossible", exc_info=True)


@dataclass
class _Kernel:
    km: _PoolKernelManager
    number: int
    runs: int = field(default=0)


def _kernel_env() -> dict[str, str]:

    env = dict(os.environ)
    # Reports always store static charts, whatever the analyst's shell asks JupyterLab for;
    # a warm kernel outlives any folder of charts drawn ahead for one single run.
    env.pop(CHART_MODE_VARIABLE, None)
    env.pop(DRAWN_AHEAD_VARIABLE, None)
    return env


class KernelPool:
    """``size`` warm kernels; :meth:`execute` runs a notebook with papermill on a free one.

    ``imports``: modules imported at warm-up; ``warm_up``: more code run at warm-up
    (``None``: nothing); ``timeout``: seconds per cell (papermill's ``execution_timeout``,
    ``None``: no limit); ``startup_timeout``: seconds to wait for a kernel to be ready.
    """

    def __init__(self, size: int | None = None, *, imports: Sequence[str] = DEFAULT_IMPORTS,
                 warm_up: str | None = DEFAULT_WARM_UP, timeout: float | None = None,
                 startup_timeout: float = 120, kernel_name: str = KERNEL_NAME,
                 cwd: Path | None = None) -> None:
        self.size = size if size is not None else usable_cores()
        if self.size < 1:
            raise ValueError("size must be at least 1")
        self.imports = tuple(imports)
        self.warm_up = warm_up
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        self.kernel_name = kernel_name
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self._free: queue.Queue[_Kernel] = queue.Queue()
        self._lock = threading.Lock()
        self._all: dict[int, _Kernel] = {}
        self._count = 0
        self._started = False
        self._closed = False
        #: Kernels started since the pool was created (replacements included).
        self.started_kernels = 0
        #: Kernels replaced because they died or a run failed outside a cell.
        self.replaced_kernels = 0

    # -- life cycle ---------------------------------------------------------

    def __enter__(self) -> KernelPool:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start(self) -> None:
        """Start and warm the ``size`` kernels, all at once."""
        if self._started:
            return
        self._started = True
        with ThreadPoolExecutor(self.size) as starters:
            futures = [starters.submit(self._new_kernel) for _ in range(self.size)]
        errors = [f.exception() for f in futures if f.exception() is not None]
        for future in futures:
            if future.exception() is None:
                self._free.put(future.result())
        if errors:
            self.close()
            raise KernelPoolError(f"démarrage des noyaux impossible : {errors[0]}") from errors[0]

    def close(self) -> None:
        """Shut every kernel down (idempotent)."""
        with self._lock:
            self._closed = True
            kernels, self._all = list(self._all.values()), {}
        for kernel in kernels:
            self._shutdown(kernel)

    # -- kernels ------------------------------------------------------------

    def _new_kernel(self) -> _Kernel:
        km = _PoolKernelManager(kernel_name=self.kernel_name)
        km.start_kernel(extra_arguments=list(KERNEL_ARGUMENTS), env=_kernel_env(),
                        cwd=str(self.cwd))
        with self._lock:
            self._count += 1
            kernel = _Kernel(km, self._count)
            self._all[kernel.number] = kernel
            self.started_kernels += 1
        try:
            code = (f"for _name in {self.imports!r}:\n"
                    "    try:\n"
                    "        __import__(_name)\n"
                    "    except ImportError:\n"
                    "        pass\n")
            code += self.warm_up or ""
            code += '__import__("mutualisation.run.kernels", fromlist=["_"])._kernel_snapshot()\n'
            self._run_silently(kernel, code, self.startup_timeout)
        except BaseException:
            self._forget(kernel)
            raise
        return kernel

    def _run_silently(self, kernel: _Kernel, code: str, timeout: float) -> None:
        """Run ``code`` in the kernel with no output and no execution count."""
        kc = kernel.km.blocking_client()
        try:
            kc.start_channels()
            kc.wait_for_ready(timeout=timeout)
            reply = kc.execute_interactive(code, silent=True, store_history=False,
                                           allow_stdin=False, timeout=timeout,
                                           output_hook=lambda _msg: None)
        finally:
            kernel.km.stop_clients()
        content = reply["content"]
        if content.get("status") != "ok":
            raise KernelPoolError(
                f"noyau {kernel.number} : {content.get('ename')} : {content.get('evalue')}"
            )

    def _forget(self, kernel: _Kernel) -> None:
        with self._lock:
            self._all.pop(kernel.number, None)
        self._shutdown(kernel)

    @staticmethod
    def _shutdown(kernel: _Kernel) -> None:
        kernel.km.stop_clients()
        try:
            if kernel.km.has_kernel:
                kernel.km.shutdown_kernel(now=True)
        except Exception:
            log.debug("arrêt du noyau %s impossible", kernel.number, exc_info=True)

    def _replace(self, kernel: _Kernel) -> _Kernel:
        self._forget(kernel)
        with self._lock:
            self.replaced_kernels += 1
        return self._new_kernel()

    def _borrow(self) -> _Kernel:
        if not self._started:
            self.start()
        while True:
            if self._closed:
                raise KernelPoolError("le groupe de noyaux est fermé")
            with self._lock:
                if not self._all and self._free.empty():
                    raise KernelPoolError("plus aucun noyau disponible")
            try:
                return self._free.get(timeout=1)
            except queue.Empty:
                continue

    def _give_back(self, kernel: _Kernel) -> None:
        if self._closed:
            self._shutdown(kernel)
        else:
            self._free.put(kernel)

    def kernel_pids(self) -> list[int]:
        """Process ids of the running kernels (for tests and diagnostics)."""
        with self._lock:
            kernels = list(self._all.values())
        pids = []
        for kernel in kernels:
            provisioner = kernel.km.provisioner
            process = getattr(provisioner, "process", None)
            if process is not None:
                pids.append(process.pid)
        return pids

    # -- runs ---------------------------------------------------------------

    def execute(self, notebook: Path, output: Path, parameters: dict[str, Any]) -> None:
        """Same contract as :func:`mutualisation.run.execute.execute`, on a warm kernel.

        Writes the executed notebook to ``output``; a failing cell raises papermill's
        ``PapermillExecutionError`` after writing the partial notebook. Relative paths in
        the notebook resolve against ``output``'s folder, as with ``cwd=`` for papermill.
        """

        notebook, output = Path(notebook).resolve(), Path(output).resolve()
        kernel = self._borrow()
        healthy = False
        try:
            kernel = self._prepare(kernel, str(output.parent))
            try:
                # cwd stays None: papermill's cwd= only chdirs THIS process (racy between
                # threads) and reaches a kernel only when it starts; _prepare chdirs inside.
                papermill.execute_notebook(
                    str(notebook), str(output), parameters=parameters,
                    kernel_name=self.kernel_name, km=kernel.km,
                    execution_timeout=self.timeout, start_timeout=self.startup_timeout,
                    **PAPERMILL_OPTIONS,
                )
                healthy = True
            except PapermillExecutionError:
                healthy = True  # an error in a cell: the kernel itself is fine
                raise
            finally:
                kernel.km.stop_clients()
                kernel.runs += 1
        finally:
            self._settle(kernel, healthy)

    def _prepare(self, kernel: _Kernel, cwd: str) -> _Kernel:
        """Reset ``kernel`` (replacing it first if it is dead or fails to reset).

        When the replacement fails too, it is stopped here: the caller only knows the kernel
        it borrowed, and settles that one (a fresh kernel takes its place in the pool).
        """
        for attempt in (1, 2):
            try:
                if not kernel.km.is_alive():
                    raise KernelPoolError(f"noyau {kernel.number} arrêté")
                self._run_silently(kernel, _RESET_CODE.format(cwd=cwd), self.startup_timeout)
                return kernel
            except Exception as err:
                if attempt == 2:
                    self._forget(kernel)
                    raise
                log.warning("noyau %s remplacé : %s", kernel.number, err)
                kernel = self._replace(kernel)
        raise AssertionError("unreachable")

    def _settle(self, kernel: _Kernel, healthy: bool) -> None:
        """Give ``kernel`` back, or a fresh one in its place if it died or misbehaved."""
        try:
            alive = kernel.km.is_alive()
        except Exception:
            alive = False
        if healthy and alive:
            self._give_back(kernel)
            return
        if self._closed:
            self._forget(kernel)
            return
        log.warning("noyau %s remplacé (%s)", kernel.number, "arrêté" if not alive else "échec")
        try:
            self._give_back(self._replace(kernel))
        except Exception:
            log.exception("remplacement d'un noyau impossible")

    def run_many(self, jobs: Iterable[tuple[Path, Path, dict[str, Any]]],
                 on_done: Callable[[tuple[Path, Path, dict[str, Any]], BaseException | None],
                                   None] | None = None) -> list[BaseException | None]:
        """Run ``(notebook, output, parameters)`` jobs on all kernels; errors in job order.

        ``on_done(job, error)`` is called (from a worker thread) as each job ends.
        """
        jobs = list(jobs)

        def one(job: tuple[Path, Path, dict[str, Any]]) -> BaseException | None:
            error: BaseException | None = None
            try:
                self.execute(*job)
            except Exception as err:
                error = err
            if on_done is not None:
                on_done(job, error)
            return error

        with ThreadPoolExecutor(self.size) as workers:
            return list(workers.map(one, jobs))


__all__ = ["DEFAULT_IMPORTS", "DEFAULT_WARM_UP", "KernelPool", "KernelPoolError"]
