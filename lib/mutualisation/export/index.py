"""``outputs/index.html``: the reviewers' entry page, built from what the output folder holds.

It reads each year's ``indicators.json`` and each commune sheet's ``indicators.json``, so it
always links to what exists. Self-contained: inline CSS and a few lines of inline JavaScript
for the search box, nothing from the network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from mutualisation.config import FICHES_DIR, INDEX_FILE
from mutualisation.files import write_whole
from mutualisation.formatting import fr_int, fr_percent, plural
from mutualisation.present import labels
from mutualisation.present.fonts import CSS_STACK, font_face_css

_ENV = Environment(
    loader=PackageLoader("mutualisation", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    keep_trailing_newline=True,
)
#: « 1 fiche », « 2 fiches » in the template: the project's one rule of French plurals.
_ENV.filters["pluriel"] = plural


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _years(out: Path) -> list[dict[str, Any]]:
    """Every year folder with a bilan, latest first, with its figures and files."""
    years = []
    for folder in sorted((p for p in out.iterdir() if p.is_dir() and p.name.isdigit()),
                         key=lambda p: int(p.name), reverse=True):
        figures_path = folder / "indicators.json"
        has_bilan = figures_path.is_file() and (folder / "bilan.html").is_file()
        figures = _read(figures_path) if has_bilan else None
        fiches = []
        for sheet in sorted((folder / FICHES_DIR).glob("*/indicators.json")):
            item = _read(sheet)
            fiches.append({
                "code": item["code_insee"],
                "nom": item["nom"],
                "actions": plural(item["nb_actions"], "action", "actions"),
                "href": f"{folder.name}/{FICHES_DIR}/{sheet.parent.name}/fiche.html",
            })
        if figures is None and not fiches:
            continue
        files = {name: f"{folder.name}/{name}" for name in ("bilan.html", "bilan.pdf",
                                                            "bilan.xlsx")
                 if (folder / name).is_file()}
        fiches.sort(key=lambda f: (f["nom"].casefold(), f["code"]))
        years.append({"annee": int(folder.name), "figures": figures, "files": files,
                      "fiches": fiches})
    return years


def _rows(years: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The key figures, one row per indicator, one column per year with a bilan."""
    with_figures = [y for y in years if y["figures"] is not None]
    if not with_figures:
        return []
    thresholds = sorted({k for y in with_figures for k in y["figures"]["communes_participantes"]},
                        key=int)
    rows: list[tuple[str, Any]] = [
        (labels.KEY_FIGURES[key], lambda f, key=key: fr_int(f[key]))
        for key in ("communes_membres", "actions_inscrites", "actions_deployees")
    ]
    rows.append((labels.DEPLOYED_DURING_YEAR,
                 lambda f: fr_int(len(f["actions_deployees_annee"]))))
    for k in thresholds:
        label = labels.communes_at_least(int(k))
        rows.append((label, lambda f, k=k: (
            f"{fr_int(f['communes_participantes'][k])} "
            f"({fr_percent(f['part_communes_participantes'][k], 1)})"
            if k in f["communes_participantes"] else "—")))
    return [{"label": label, "values": [cell(y["figures"]) for y in with_figures]}
            for label, cell in rows]


def _revised(years: list[dict[str, Any]]) -> dict[int, list[int]]:
    """The years whose figures a later bilan revised (its ``revisions``), with those bilans."""
    found: dict[int, set[int]] = {}
    for year in years:
        for item in (year["figures"] or {}).get("revisions", []):
            found.setdefault(item["annee"], set()).add(year["annee"])
    return {year: sorted(later) for year, later in sorted(found.items())}


def render_index(out: Path) -> str:
    """The entry page for the reports under ``out``."""
    years = _years(out)
    illustrative = any(y["figures"] and y["figures"].get("donnees_illustratives")
                       for y in years)
    return _ENV.get_template("index.html.j2").render(
        years=years,
        columns=[y["annee"] for y in years if y["figures"] is not None],
        rows=_rows(years),
        illustrative=illustrative,
        revised=_revised(years),
        # The shipped font, embedded (mutualisation.present.fonts); CSS is not escaped.
        fonts_css=Markup(font_face_css()),
        font_family=Markup(CSS_STACK),
    )


def write_index(out: Path) -> Path:
    """Write ``out/index.html`` (replaced in one rename) and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / INDEX_FILE
    write_whole(target, render_index(out).encode("utf-8"))
    return target
