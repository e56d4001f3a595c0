"""Charts drawn ahead of the kernel: the idle core's work during a single cold report.

A single ``mutualisation report`` runs its notebook in a new kernel. For about 4 s that
kernel starts and imports polars and Altair, on one core; then the notebook spends about
3 s in vl-convert, which draws one chart at a time and holds the GIL meanwhile. While the
kernel starts, :func:`drawing_ahead` puts the other core to work: a helper process
(``python -m mutualisation.run.ahead``) loads the same data with the same parameters,
builds the same charts (:func:`mutualisation.present.figures.figures_of`) and draws them
into a private folder, whose path the kernel gets in
:data:`~mutualisation.present.svg_cache.FOLDER_VARIABLE`.
:func:`mutualisation.present.charts.spec_to_svg` then takes each SVG from there
(:func:`mutualisation.present.svg_cache.drawn_ahead`) instead of drawing it.

No output can change. An SVG is found by its key, the SHA-256 of the exact Vega-Lite spec
the kernel is about to draw together with everything else that decides the drawing
(:func:`mutualisation.present.charts.spec_key`: vl-convert's version and options, the drawing code
itself), and vl-convert draws one spec into the same bytes in any process (the ids it
numbers per process are renumbered). A chart the helper did not draw is drawn by the kernel
as usual; a helper that cannot start, is late, fails or dies costs time, never a different
byte.

The folder's files are described in :mod:`mutualisation.present.svg_cache`: this module
writes the plan and the SVGs, and ``fin`` when the helper's process exits.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mutualisation.config import PACKAGE_PARENT
from mutualisation.files import write_whole
from mutualisation.present import svg_cache
from mutualisation.startup import skip_iri_format_checker


def draw_into(folder: Path, specs: Iterable[dict[str, Any]],
              key: Callable[[dict[str, Any]], str],
              draw: Callable[[dict[str, Any]], str]) -> None:
    """Announce the keys of ``specs`` in the plan, then draw each, in order, into ``<key>.svg``."""
    specs = list(specs)
    keys = [key(spec) for spec in specs]
    write_whole(folder / svg_cache.PLAN_FILE, json.dumps(sorted(set(keys))).encode("utf-8"))
    for spec, name in zip(specs, keys, strict=True):
        target = folder / f"{name}.svg"
        if not target.exists():
            write_whole(target, draw(spec).encode("utf-8"))


def display_order(names: Iterable[str], notebook: Path) -> list[str]:
    """Figure names in the order the notebook's code first mentions them, the others last."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    source = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")

    def position(name: str) -> tuple[int, str]:
        found = source.find(f'"{name}"')
        return (found if found >= 0 else len(source), name)

    return sorted(names, key=position)


#: The notebooks whose charts the helper knows how to build (see figures_of).
KINDS = ("bilan", "fiche")


def main(argv: list[str] | None = None) -> int:
    """The helper process: draw the charts of one notebook run into a folder."""
    parser = argparse.ArgumentParser(prog="python -m mutualisation.run.ahead",
                                     description="Draw a report's charts ahead of its kernel.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("notebook", type=Path, help="the notebook run (for its display order)")
    parser.add_argument("parameters", help="the notebook's papermill parameters, as JSON")
    args = parser.parse_args(argv)
    skip_iri_format_checker()
    try:
        # Here, not at the top: the report's own process imports this module for
        # drawing_ahead and must not pay for the charts (Altair: 0.46 to 0.95 s measured here).
        from mutualisation.present import charts, figures

        drawn = figures.figures_of(args.kind, json.loads(args.parameters))
        # In the order the kernel will ask for them, so that it never waits for a chart
        # while the helper draws one it needs later.
        order = display_order(drawn, args.notebook)
        specs = [charts.to_dict(drawn[name], validate=False) for name in order]
        draw_into(args.folder, specs, charts.spec_key, charts.draw_svg)
    except Exception as err:  # reported in one line by the runner; the kernel draws instead
        first = (str(err).strip().splitlines() or [""])[0]
        print(f"{type(err).__name__} : {first}".rstrip(" :"), file=sys.stderr)
        return 1
    return 0


@contextmanager
def drawing_ahead(kind: str, notebook: Path, parameters: Mapping[str, Any],
                  cwd: Path | None = None,
                  log: Callable[[str], None] | None = None) -> Iterator[dict[str, str]]:
    """Run the helper while the body runs; yield the environment the kernel needs.

    When the body ends the helper is stopped (killed if still running) and its folder
    removed; if the body ended normally, ``log`` gets one line saying how many charts the
    kernel took from the helper, or why the helper failed. A helper that cannot even start
    is logged and the body runs without it (an empty environment).
    """
    with tempfile.TemporaryDirectory(prefix="mutualisation-svg-") as name:
        folder = Path(name)
        errors = folder / "erreurs.txt"
        try:
            helper = _start_helper(folder, errors, kind, notebook, parameters, cwd)
        except (OSError, TypeError, ValueError) as err:  # no helper: the kernel draws
            helper, reason = None, f"{type(err).__name__} : {err}"
        if helper is None:
            if log is not None:
                log(f"dessin anticipé des graphiques impossible ({reason}), le noyau les dessine")
            yield {}
            return

        def mark_done() -> None:
            helper.wait()
            (folder / svg_cache.DONE_MARK).touch()

        watcher = threading.Thread(target=mark_done, name="drawing-ahead-watcher", daemon=True)
        watcher.start()
        try:
            yield {svg_cache.FOLDER_VARIABLE: str(folder)}
        finally:
            stopped = helper.poll() is None
            if stopped:
                helper.kill()
            watcher.join()
        # Only after a normal end: a failing run's own error is the one line to read.
        if log is not None:
            log(_summary(folder, helper.returncode, stopped, errors))


def _start_helper(folder: Path, errors: Path, kind: str, notebook: Path,
                  parameters: Mapping[str, Any], cwd: Path | None) -> subprocess.Popen[bytes]:
    arguments = [str(folder), kind, str(notebook), json.dumps(dict(parameters))]
    # This very package, even when it is not installed in the interpreter's environment
    # (a different copy in the kernel only means different keys: nothing is taken).
    package_root = str(PACKAGE_PARENT)
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    with errors.open("wb") as stderr:
        # Its own session: Ctrl-C reaches the report, which stops the helper itself.
        return subprocess.Popen(
            [sys.executable, "-m", "mutualisation.run.ahead", *arguments],
            cwd=cwd, env={**os.environ, "PYTHONPATH": path}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=stderr, **own_session(),
        )


#: ``subprocess.CREATE_NEW_PROCESS_GROUP``, which the subprocess module defines on Windows only.
_NEW_PROCESS_GROUP = 0x200


def own_session(system: str = os.name) -> dict[str, Any]:
    """Popen options that keep the console's Ctrl-C from a child process: a new session on
    POSIX systems; a new process group on Windows (``system`` ``"nt"``), which ignores
    ``start_new_session``."""
    if system == "nt":
        return {"creationflags": _NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def _summary(folder: Path, returncode: int, stopped: bool, errors: Path) -> str:
    """One line on what the helper drew and the kernel took."""
    planned = svg_cache.read_plan(folder) or set()
    taken = sum(1 for key in planned if (folder / f"{key}{svg_cache.TAKEN_SUFFIX}").exists())
    if returncode != 0 and not stopped:
        lines = errors.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        reason = lines[-1] if lines else f"code de sortie {returncode}"
        return (f"dessin anticipé des graphiques en échec ({reason}), {taken} repris, "
                "le noyau a dessiné les autres")
    return f"graphiques dessinés d'avance, {taken} sur {len(planned)} repris par le noyau"


if __name__ == "__main__":
    sys.exit(main())
