"""Running the yearly report: validate, execute the notebook, write the folder atomically.

Besides the notebook and its page, the folder holds the workbook ``bilan.xlsx`` and the
council paper ``bilan.pdf``, printed from the page by WeasyPrint
(:mod:`mutualisation.exports`); when WeasyPrint cannot load, the report is written without
its PDF and the log says so.

``OUT/Y/`` is assembled in a staging folder beside it and published only when every file is
written (:mod:`mutualisation.publish`: one run at a time per output folder, never a moment
without a whole report); a failure leaves the previous report as it was and keeps the
failing notebook in ``OUT/.echec-Y/`` for debugging.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat

from . import interruption
from .files import os_reason
from .loading import DataError, Problem, check_year, load_dataset
from .model import Dataset
from .paths import FICHES_DIR, NOTEBOOKS_DIR
from .publish import (
    FAILED_PREFIX,
    ReportError,
    discard_build,
    journal_path,
    new_staging,
    output_lock,
    publish,
    recover,
    refuse_unusable_target,
    remove_tree,
)

#: The notebook of the yearly bilan.
BILAN_NOTEBOOK = NOTEBOOKS_DIR / "bilan.ipynb"
#: The notebook of one commune's sheet.
FICHE_NOTEBOOK = NOTEBOOKS_DIR / "fiche_commune.ipynb"
#: Packages whose versions the manifest records.
MANIFEST_PACKAGES = ("mutualisation", "polars", "altair", "vl-convert-python", "papermill",
                     "nbconvert", "great-tables", "babel", "fastexcel", "xlsxwriter",
                     "weasyprint")
KERNEL_NAME = "python3"
#: The kernel's own log is noise for report runs: start-up warnings (unencrypted local TCP)
#: and, after Ctrl-C, the tracebacks of a reply sent on a socket already closed. A cell's
#: error reaches the report through papermill, not through this log.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
#: How every report notebook is run by papermill, cold or on a warm kernel. Papermill's
#: saving of the notebook around each cell stays on (about 0.1 s for a bilan): a kernel that
#: dies leaves the cells run so far for diagnosis.
PAPERMILL_OPTIONS: dict[str, Any] = {"progress_bar": False, "log_output": False}


class Interrupted(ReportError):
    """The run was stopped by Ctrl-C; the previous report is untouched."""


#: Years a bilan may be asked for: intercommunalities as they exist date from the 1960s
#: (communautés urbaines, 1966); the bounds only keep absurd values out of date arithmetic.
YEAR_BOUNDS = (1950, 2100)
#: "At least k actions": k from 1 to THRESHOLD_MAX, at most MAX_THRESHOLDS of them (one
#: column each in the tables and the workbook).
THRESHOLD_MAX = 999
MAX_THRESHOLDS = 10


def validate_parameters(year: object, thresholds: object) -> tuple[int, tuple[int, ...]]:
    """Check the parameters before papermill, which checks nothing."""
    low, high = YEAR_BOUNDS
    if isinstance(year, bool) or not isinstance(year, int):
        raise ReportError(f"année invalide : « {year} » (un entier comme 2019 est attendu)")
    if not low <= year <= high:
        raise ReportError(f"année invalide : {year} (entre {low} et {high})")
    if not isinstance(thresholds, list | tuple) or not thresholds:
        raise ReportError("seuils invalides : une liste d'entiers positifs est attendue")
    for k in thresholds:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= THRESHOLD_MAX:
            raise ReportError(f"seuil invalide : « {k} » (entier de 1 à {THRESHOLD_MAX})")
    unique = tuple(sorted(set(thresholds)))
    if len(unique) > MAX_THRESHOLDS:
        raise ReportError(f"trop de seuils : {len(unique)} (au plus {MAX_THRESHOLDS})")
    return year, unique


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in MANIFEST_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def manifest(dataset: Dataset, data: str, parameters: dict[str, Any],
             notebook: Path | None = None) -> dict[str, Any]:
    """What made a report: input files and their SHA-256, parameters, package versions."""
    inputs = {
        path.name: sha256(path)
        for _, path in sorted(dataset.sources.items())
    }
    folder = next(iter(dataset.sources.values())).parent
    for extra in sorted(folder.glob("*.geojson")):
        inputs[extra.name] = sha256(extra)
    return {
        "notebook": f"notebooks/{(notebook or BILAN_NOTEBOOK).name}",
        "notebook_sha256": sha256(notebook or BILAN_NOTEBOOK),
        "donnees": data,
        "fichiers_entree": dict(sorted(inputs.items())),
        "parametres": parameters,
        "versions": _versions(),
    }


def write_json(path: Path, value: Any) -> None:
    """JSON as committed files want it: UTF-8, indented, keys in a fixed order, final newline."""
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


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
    the notebook's charts while the kernel starts (:mod:`mutualisation.prerender`); the
    executed notebook is the same (papermill's timestamps apart) and ready sooner; ``log``
    gets a line on what it saved. Environment variables are set for the kernel in this
    process's ``os.environ``: one cold run at a time (batches use warm kernels).
    """
    import papermill

    from .notebook import CHART_MODE_VARIABLE
    from .prerender import VARIABLE, drawing_ahead

    with ExitStack() as stack:
        kernel_env: dict[str, str] = {}
        if draw_ahead is not None and usable_cores() >= 2:
            kernel_env = stack.enter_context(
                drawing_ahead(draw_ahead, notebook, parameters, cwd=output.parent, log=log))
        # The kernel inherits this process's environment: reports always store static
        # charts, even when the analyst's shell asks JupyterLab for interactive ones, and
        # only take charts drawn ahead for this very run.
        stack.enter_context(_environment({CHART_MODE_VARIABLE: None, VARIABLE: None,
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


def _disk_full(err: BaseException) -> bool:
    """Whether ``err``, or an error it stems from, is a full disk (or quota)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _free_space(folder: Path) -> str:
    from .formatting import fr_decimal

    try:
        return f"{fr_decimal(shutil.disk_usage(folder).free / 1e6, 1)} Mo libres"
    except OSError:
        return "espace libre inconnu"


def _failure(err: BaseException, target: Path, kept: Path | None) -> ReportError:
    """One French line for a failed build, naming the kept notebook only when it exists."""
    from papermill.exceptions import PapermillExecutionError

    from .exports import ExportError

    where = f" Notebook conservé pour diagnostic : {kept}" if kept is not None else ""
    if isinstance(err, KeyboardInterrupt):
        partial = f" Notebook partiel conservé : {kept}" if kept is not None else ""
        return Interrupted(f"interrompu : {target} n'a pas été modifié.{partial}")
    if _disk_full(err):
        return ReportError(
            f"disque plein : {target} n'a pas pu être écrit ({_free_space(target.parent)}). "
            "Les fichiers de cette exécution ont été supprimés, le rapport précédent est "
            "intact ; libérer de la place puis relancer.")
    if isinstance(err, ExportError | ReportError):
        return ReportError(f"{err}{where}")
    if isinstance(err, PapermillExecutionError):
        what = f"{err.ename} : {err.evalue}".strip()
        return ReportError(
            f"l'exécution du notebook a échoué (cellule {err.exec_count}) — {what}.{where}")
    if isinstance(err, OSError):
        name = err.filename if err.filename is not None else target
        return ReportError(f"{target} n'a pas pu être écrit : {name} : "
                           f"{os_reason(err)}.{where}")
    return ReportError(f"le rapport n'a pas pu être écrit ({type(err).__name__} : {err}).{where}")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


#: Runs a notebook: (template, executed notebook to write, parameters). ``execute`` by default;
#: a batch passes the ``execute`` method of a pool of warm kernels.
Executor = Callable[[Path, Path, dict[str, Any]], None]


def _executed(executor: Executor, template: Path, output: Path,
              parameters: dict[str, Any]) -> nbformat.NotebookNode:
    """Run ``template`` into ``output`` and return it without papermill's volatile metadata."""
    executor(template, output, parameters)
    nb = nbformat.read(output, as_version=4)
    _strip_volatile(nb)
    nbformat.write(nb, output)
    return nb


def write_atomically(target: Path, notebook_name: str, build: Callable[[Path], None],
                     keep: tuple[str, ...] = (), log: Callable[[str], None] = _stderr) -> Path:
    """Let ``build`` fill a staging folder, then publish it in place of ``target`` at once.

    Call it holding the output folder's lock (:func:`mutualisation.publish.output_lock`).
    What a crashed run left is recovered first. On failure (or Ctrl-C) the previous
    ``target`` is untouched and the notebook ``build`` was writing is kept in
    ``.echec-<name>/`` beside it, except when the disk is full: then nothing of the run is
    kept. Sub-folders named in ``keep`` (written by other commands, like the commune sheets
    inside a year) move from the old folder to the new.
    """
    refuse_unusable_target(target)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    recover(parent, log, keep)
    if journal_path(target).exists():  # recovery failed: its message says why (log)
        raise ReportError(f"{target} : une mise en place interrompue n'a pas pu être reprise "
                          f"({journal_path(target)}) ; corriger la cause signalée, puis relancer")
    failed = parent / f"{FAILED_PREFIX}{target.name}"
    staging = new_staging(target)
    try:
        build(staging)
        interruption.check()  # a Ctrl-C swallowed during the build still stops the run
    except BaseException as err:  # Ctrl-C too: the staging folder must not stay behind
        full = _disk_full(err)
        kept = discard_build(staging, failed, notebook_name, keep_notebook=not full, log=log)
        raise _failure(err, target, kept) from err
    try:
        publish(staging, target, keep, log)
    except OSError as err:
        if not journal_path(target).exists():  # nothing was published: as a failed build
            discard_build(staging, failed, notebook_name, keep_notebook=False, log=log)
            raise _failure(err, target, None) from err
        raise ReportError(
            f"{target} : le nouveau rapport est complet mais n'a pas pu être mis en place "
            f"({os_reason(err)} : {err.filename}) ; la prochaine exécution réessaiera") from err
    remove_tree(failed, log)
    return target


def run_report(year: int | None, data: Path, out: Path,
               thresholds: tuple[int, ...] | list[int] = (1, 2, 5),
               log: Callable[[str], None] = lambda _: None, *, pdf: bool = True,
               executor: Executor | None = None, dataset: Dataset | None = None) -> Path:
    """Write ``out/<year>/`` for ``year`` (None: the last year of the data); return it.

    ``pdf=False`` leaves ``bilan.pdf`` out (for tests of other things). When the PDF engine
    (WeasyPrint) cannot load, the report is written without its PDF and ``log`` says how to
    get it. A batch passes its ``executor`` (warm kernels) and the ``dataset`` it already
    loaded. The output folder is held for the run (:func:`publish.output_lock`: waits for
    another run writing into it).
    """
    from . import html  # nbconvert's import cost only when a report is really written
    from .bilan import Bilan, portable_data_path
    from .exports import pdf_engine_problem, write_pdf, write_workbook
    from .narrative import title

    if dataset is None:
        dataset = load_dataset(data)
    if year is None:
        year = dataset.last_year
    year, thresholds = validate_parameters(year, thresholds)
    check_year(dataset, year)
    pdf_problem = pdf_engine_problem() if pdf else None

    data_param = portable_data_path(data)
    parameters = {"annee": year, "donnees": data_param, "seuils": list(thresholds)}

    def build(staging: Path) -> None:
        log(f"Bilan {year} : exécution du notebook ({data_param})…")
        run = executor or execute_drawing_ahead("bilan", lambda line: log(f"Bilan {year} : {line}"))
        nb = _executed(run, BILAN_NOTEBOOK, staging / "bilan.ipynb", parameters)
        log(f"Bilan {year} : page HTML, indicateurs, tables et figures…")
        # Tables and key figures only: the charts (and the map's outlines) were drawn by
        # the notebook and are taken from it.
        bilan = Bilan(dataset, year, thresholds)
        page = staging / "bilan.html"
        page.write_text(html.export_html(nb, title(bilan)), encoding="utf-8")
        write_json(staging / "indicators.json", bilan.indicators)
        write_json(staging / "manifest.json",
                   manifest(dataset, data_param, parameters, BILAN_NOTEBOOK))
        write_outputs(bilan, staging, nb)
        log(f"Bilan {year} : classeur bilan.xlsx…")
        write_workbook(bilan, staging / "bilan.xlsx", title(bilan))
        if pdf and pdf_problem is None:
            log(f"Bilan {year} : impression de bilan.pdf…")
            write_pdf(bilan, page, staging / "bilan.pdf", title(bilan))

    with output_lock(out, log=log) as held:
        target = write_atomically(held / str(year), "bilan.ipynb", build, keep=(FICHES_DIR,),
                                  log=log)
    if pdf_problem is not None:
        log(f"Bilan {year} : {pdf_problem}")
    log(f"Bilan {year} écrit dans {target}")
    return target


def run_fiche(year: int, code_insee: str, data: Path, out: Path, *,
              executor: Executor | None = None, dataset: Dataset | None = None,
              log: Callable[[str], None] = lambda _: None) -> Path:
    """Write the sheet of one commune in ``out/<year>/fiches/<code_insee>/``; return it."""
    from . import html
    from .bilan import portable_data_path
    from .fiche import Fiche
    from .narrative import fiche_title

    if dataset is None:
        dataset = load_dataset(data)
    year, _ = validate_parameters(year, (1,))
    check_year(dataset, year)
    fiche = Fiche.from_dataset(dataset, year, code_insee)  # a non-member is a DataError
    code = fiche.commune["code_insee"]
    data_param = portable_data_path(data)
    parameters = {"annee": year, "code_insee": code, "donnees": data_param}

    def build(staging: Path) -> None:
        label = f"Fiche {year} de {fiche.commune['nom']}"
        run = executor or execute_drawing_ahead("fiche", lambda line: log(f"{label} : {line}"))
        nb = _executed(run, FICHE_NOTEBOOK, staging / "fiche.ipynb", parameters)
        (staging / "fiche.html").write_text(html.export_html(nb, fiche_title(fiche)),
                                            encoding="utf-8")
        write_json(staging / "indicators.json", fiche.indicators)
        write_json(staging / "manifest.json",
                   manifest(dataset, data_param, parameters, FICHE_NOTEBOOK))
        write_outputs(fiche, staging, nb)

    with output_lock(out, log=log) as held:
        target = write_atomically(held / str(year) / FICHES_DIR / code, "fiche.ipynb", build,
                                  log=log)
    log(f"Fiche {year} de {fiche.commune['nom']} écrite dans {target}")
    return target


def notebook_figures(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The SVG of every named chart displayed by an executed notebook, by figure name."""
    from .charts import FIGURE_KEY

    found = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            svg = output.get("data", {}).get("image/svg+xml")
            name = output.get("metadata", {}).get("image/svg+xml", {}).get(FIGURE_KEY)
            if svg is not None and name is not None:
                found[name] = svg if isinstance(svg, str) else "".join(svg)
    return found


def write_outputs(content: Any, folder: Path, nb: nbformat.NotebookNode) -> None:
    """The tables (CSV) and figures (SVG) of a bilan or a sheet, in sorted, stable form.

    Figures are the charts the executed notebook drew (named by ``charts.named``): drawn
    once, in the kernel, and without importing Altair in this process.
    """
    tables, figures = folder / "tables", folder / "figures"
    tables.mkdir()
    figures.mkdir()
    for name, frame in sorted(content.tables().items()):
        frame.write_csv(tables / f"{name}.csv", date_format="%Y-%m-%d")
    for name, svg in sorted(notebook_figures(nb).items()):
        (figures / f"{name}.svg").write_text(svg, encoding="utf-8")


__all__ = ["DataError", "Interrupted", "Problem", "ReportError", "manifest", "run_fiche",
           "run_report", "validate_parameters", "write_atomically"]
