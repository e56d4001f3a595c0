"""Running the yearly report: validate, execute the notebook, write the folder atomically.

Besides the notebook and its page, the folder holds the workbook ``bilan.xlsx`` and the
council paper ``bilan.pdf``, printed from the page by WeasyPrint
(:mod:`mutualisation.export.pdf`); when WeasyPrint cannot load, the report is written
without its PDF and the log says so.

``OUT/Y/`` is assembled in a staging folder beside it and published only when every file is
written (:mod:`mutualisation.run.publish`: one run at a time per output folder, never a moment
without a whole report); a failure leaves the previous report as it was and keeps the
failing notebook in ``OUT/.echec-Y/`` for debugging.
"""

from __future__ import annotations

import errno
import json
import shutil
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat

from mutualisation.compute.bilan import Bilan
from mutualisation.compute.fiche import Fiche
from mutualisation.compute.revisions import Published
from mutualisation.config import BILAN_NOTEBOOK, FICHE_NOTEBOOK, FICHES_DIR, FIGURE_KEY
from mutualisation.data.model import Dataset
from mutualisation.data.parameters import Parameters
from mutualisation.data.snapshot import write_snapshot
from mutualisation.data.validate import check_year, load_dataset
from mutualisation.export.datapackage import write_datapackage
from mutualisation.export.pdf import pdf_engine_problem, write_pdf
from mutualisation.export.workbook import ExportError, write_workbook
from mutualisation.files import os_reason, sha256, write_json
from mutualisation.formatting import fr_decimal
from mutualisation.present.bilan_text import title
from mutualisation.present.fiche_text import fiche_title
from mutualisation.run import interruption
from mutualisation.run.console import Log, say
from mutualisation.run.execute import Executor, execute_drawing_ahead, executed
from mutualisation.run.publish import (
    FAILED_PREFIX,
    Interrupted,
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
from mutualisation.run.revisions import read_published, revision_records

#: Packages whose versions the manifest records.
MANIFEST_PACKAGES = ("mutualisation", "polars", "altair", "vl-convert-python", "papermill",
                     "nbconvert", "great-tables", "babel", "fastexcel", "xlsxwriter",
                     "weasyprint")


def _versions() -> dict[str, str]:
    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in MANIFEST_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def manifest(dataset: Dataset, parameters: dict[str, Any],
             notebook: Path = BILAN_NOTEBOOK) -> dict[str, Any]:
    """What made a report: input files and their SHA-256, the notebook's parameters (its
    data folder as the notebook got it), package versions, and the editions of the official
    reference when the data folder was written from it."""
    inputs = {
        path.name: sha256(path)
        for _, path in sorted(dataset.sources.items())
    }
    folder = next(iter(dataset.sources.values())).parent
    for extra in sorted(folder.glob("*.geojson")):
        inputs[extra.name] = sha256(extra)
    made = {
        "notebook": f"notebooks/{notebook.name}",
        "notebook_sha256": sha256(notebook),
        "donnees": parameters["donnees"],
        "fichiers_entree": dict(sorted(inputs.items())),
        "parametres": parameters,
        "versions": _versions(),
    }
    # A folder written by `mutualisation init` names the editions of the official reference
    # its communes come from: the report says which.
    editions = _reference_editions(dataset.sources.get("metadata"))
    return made if editions is None else {**made, "referentiel": editions}


def _reference_editions(metadata: Path | None) -> Any:
    """The ``referentiel`` entry of a data folder's metadata file, if any."""
    if metadata is None:
        return None
    return json.loads(metadata.read_text(encoding="utf-8")).get("referentiel")


def _disk_full(err: BaseException) -> bool:
    """Whether ``err``, or an error it stems from, is a full disk (or quota)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _free_space(folder: Path) -> str:
    try:
        return f"{fr_decimal(shutil.disk_usage(folder).free / 1e6, 1)} Mo libres"
    except OSError:
        return "espace libre inconnu"


def _failure(err: BaseException, target: Path, kept: Path | None) -> ReportError:
    """One French line for a failed build, naming the kept notebook only when it exists."""
    from papermill.exceptions import PapermillExecutionError

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


def write_atomically(target: Path, notebook_name: str, build: Callable[[Path], None],
                     keep: tuple[str, ...] = (), log: Callable[[str], None] = say) -> Path:
    """Let ``build`` fill a staging folder, then publish it in place of ``target`` at once.

    Call it holding the output folder's lock (:func:`mutualisation.run.publish.output_lock`).
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


def run_report(parameters: Parameters, out: Path, log: Log = lambda _: None, *,
               pdf: bool = True, executor: Executor | None = None,
               dataset: Dataset | None = None,
               published: list[Published] | None = None) -> Path:
    """Write ``out/<year>/`` for the bilan of ``parameters`` (year None: the last year of the
    data); return it.

    ``pdf=False`` leaves ``bilan.pdf`` out (for tests of other things). When the PDF engine
    (WeasyPrint) cannot load, the report is written without its PDF and ``log`` says how to
    get it. A batch passes its ``executor`` (warm kernels) and the ``dataset`` it already
    loaded. The output folder is held for the run (:func:`publish.output_lock`: waits for
    another run writing into it).

    The earlier bilans of ``out`` (``published``: read once by a batch before its first run;
    None: read here) give the revisions of the figures of earlier years, written into
    ``indicators.json`` and told by the notebook. The report keeps its data in ``donnees/``
    (:func:`write_snapshot`, listed in the manifest) and describes it in ``datapackage.json``.
    """
    # nbconvert's import cost (1.06 s measured here) only when a report is really written;
    # a batch's workers import it once.
    from mutualisation.export import page

    if dataset is None:
        dataset = load_dataset(parameters.data)
    if parameters.year is None:
        parameters = parameters.for_year(dataset.last_year)
    year, thresholds = parameters.year, parameters.thresholds
    check_year(dataset, year)
    pdf_problem = pdf_engine_problem() if pdf else None
    values = parameters.notebook()

    def build(staging: Path) -> None:
        # Tables and key figures only: the charts (and the map's outlines) are drawn by
        # the notebook and taken from it.
        bilan = Bilan(dataset, year, thresholds)
        earlier = (published if published is not None
                   else read_published(out, parameters.data, until=year))
        revised = revision_records(bilan, earlier)
        # An empty list is the notebook's default: the parameters of a report without
        # revision stay as they were.
        given = dict(sorted({**values, "revisions": revised}.items())) if revised else values
        log(f"Bilan {year} : exécution du notebook ({values['donnees']})…")
        run = executor or execute_drawing_ahead("bilan", lambda line: log(f"Bilan {year} : {line}"))
        nb = executed(run, BILAN_NOTEBOOK, staging / "bilan.ipynb", given)
        log(f"Bilan {year} : page HTML, indicateurs, tables et figures…")
        heading = title(bilan)
        html = staging / "bilan.html"
        html.write_text(page.export_html(nb, heading), encoding="utf-8")
        write_json(staging / "indicators.json", {**bilan.indicators, "revisions": revised})
        kept = write_snapshot(dataset, staging)
        write_json(staging / "manifest.json",
                   {**manifest(dataset, given, BILAN_NOTEBOOK), "copie_donnees": kept})
        write_outputs(bilan, staging, nb)
        write_datapackage(staging, year, dataset, bilan.tables())
        log(f"Bilan {year} : classeur bilan.xlsx…")
        write_workbook(bilan, staging / "bilan.xlsx", heading)
        if pdf and pdf_problem is None:
            log(f"Bilan {year} : impression de bilan.pdf…")
            write_pdf(bilan, html, staging / "bilan.pdf", heading)

    with output_lock(out, log=log) as held:
        target = write_atomically(held / str(year), "bilan.ipynb", build, keep=(FICHES_DIR,),
                                  log=log)
    if pdf_problem is not None:
        log(f"Bilan {year} : {pdf_problem}")
    log(f"Bilan {year} écrit dans {target}")
    return target


def run_fiche(parameters: Parameters, out: Path, *, executor: Executor | None = None,
              dataset: Dataset | None = None, log: Log = lambda _: None) -> Path:
    """Write the sheet of the commune of ``parameters`` in ``out/<year>/fiches/<code_insee>/``;
    return it."""
    from mutualisation.export import page  # nbconvert's import cost, as in run_report

    if dataset is None:
        dataset = load_dataset(parameters.data)
    fiche = Fiche.from_dataset(dataset, parameters.year, parameters.code_insee)
    parameters = parameters.for_year(fiche.year)
    values = parameters.notebook()
    year, code = fiche.year, fiche.code_insee

    def build(staging: Path) -> None:
        label = f"Fiche {year} de {fiche.name}"
        run = executor or execute_drawing_ahead("fiche", lambda line: log(f"{label} : {line}"))
        nb = executed(run, FICHE_NOTEBOOK, staging / "fiche.ipynb", values)
        (staging / "fiche.html").write_text(page.export_html(nb, fiche_title(fiche)),
                                            encoding="utf-8")
        write_json(staging / "indicators.json", fiche.indicators)
        write_json(staging / "manifest.json", manifest(dataset, values, FICHE_NOTEBOOK))
        write_outputs(fiche, staging, nb)

    with output_lock(out, log=log) as held:
        target = write_atomically(held / str(year) / FICHES_DIR / code, "fiche.ipynb", build,
                                  log=log)
    log(f"Fiche {year} de {fiche.name} écrite dans {target}")
    return target


def notebook_figures(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The SVG of every named chart displayed by an executed notebook, by figure name."""
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


