"""Executing a report's notebook: papermill on a cold kernel (with the charts drawn ahead
by a helper process when a second core is free), or a batch's warm kernel; then papermill's
volatile metadata removed so that reruns are byte-identical.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import nbformat

from mutualisation.config import (
    CHART_MODE_VARIABLE,
    KERNEL_ARGUMENTS,
    KERNEL_NAME,
    PAPERMILL_OPTIONS,
)
from mutualisation.present.svg_cache import FOLDER_VARIABLE
from mutualisation.run.ahead import drawing_ahead


def _strip_volatile(nb: nbformat.NotebookNode) -> None:
    """Drop papermill's timestamps, durations and random ids, so that reruns are equal."""
    pm = nb.metadata.get("papermill", {})
    for key in ("start_time", "end_time", "duration", "input_path", "output_path"):
        pm.pop(key, None)
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"  # papermill draws a random one
        cell.metadata.pop("execution", None)
        cell_pm = cell.metadata.get("papermill")
        if cell_pm is not None:
            for key in ("start_time", "end_time", "duration"):
                cell_pm.pop(key, None)


def execute(notebook: Path, output: Path, parameters: dict[str, Any],
            draw_ahead: str | None = None, log: Callable[[str], None] | None = None) -> None:
    """Run a notebook with papermill, quietly, in the project environment's kernel.

    ``draw_ahead`` ("bilan" or "fiche": the kind of ``notebook``) has a helper process draw
    the notebook's charts while the kernel starts (:mod:`mutualisation.run.ahead`); the
    executed notebook is the same (papermill's timestamps apart) and ready sooner; ``log``
    gets a line on what it saved. Environment variables are set for the kernel in this
    process's ``os.environ``: one cold run at a time (batches use warm kernels).
    """
    import papermill  # its import (0.69 s measured here) only when a notebook is really run

    with ExitStack() as stack:
        kernel_env: dict[str, str] = {}
        if draw_ahead is not None and usable_cores() >= 2:
            kernel_env = stack.enter_context(
                drawing_ahead(draw_ahead, notebook, parameters, cwd=output.parent, log=log))
        # The kernel inherits this process's environment: reports always store static
        # charts, even when the analyst's shell asks JupyterLab for interactive ones, and
        # only take charts drawn ahead for this very run.
        stack.enter_context(_environment({CHART_MODE_VARIABLE: None, FOLDER_VARIABLE: None,
                                          **kernel_env}))
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            cwd=str(output.parent),
            extra_arguments=KERNEL_ARGUMENTS,
            **PAPERMILL_OPTIONS,
        )


def _set_environment(values: dict[str, str | None]) -> None:
    """Set environment variables; None removes one."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def _environment(changes: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the body, then restore them."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        _set_environment(changes)
        yield
    finally:
        _set_environment(saved)


def usable_cores() -> int:
    """Cores this process may run on (drawing ahead needs a second one to gain anything)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def execute_drawing_ahead(kind: str, log: Callable[[str], None] | None = None) -> Executor:
    """:func:`execute` with the charts of a ``kind`` notebook drawn ahead (single cold runs)."""
    return partial(execute, draw_ahead=kind, log=log)


#: Runs a notebook: (template, executed notebook to write, parameters). ``execute`` by default;
#: a batch passes the ``execute`` method of a pool of warm kernels.
Executor = Callable[[Path, Path, dict[str, Any]], None]


def executed(executor: Executor, template: Path, output: Path,
              parameters: dict[str, Any]) -> nbformat.NotebookNode:
    """Run ``template`` into ``output`` and return it without papermill's volatile metadata."""
    executor(template, output, parameters)
    nb = nbformat.read(output, as_version=4)
    _strip_volatile(nb)
    nbformat.write(nb, output)
    return nb
