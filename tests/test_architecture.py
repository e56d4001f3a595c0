"""The package's shape (README, « Architecture »): layers that only point down (checked by
``lint-imports`` in ``make test``), no import cycle, a compute layer without Altair, small
modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

import mutualisation

PACKAGE = Path(mutualisation.__file__).resolve().parent
#: About 600 lines at most per module: beyond, a module does several jobs (issue 12).
MAX_LINES = 620


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every import cycle between the package's modules (as found by a depth-first walk)."""
    modules = sorted(graph.modules)
    state: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if state.get(imported) == 1:
                found.append(stack[stack.index(imported):] + [imported])
            elif imported not in state:
                visit(imported)
        stack.pop()
        state[module] = 2

    for module in modules:
        if module not in state:
            visit(module)
    return found


def test_no_import_cycle_in_the_package() -> None:
    graph = grimp.build_graph("mutualisation")
    assert graph.find_modules_directly_imported_by("mutualisation.cli")  # the graph is real
    assert _cycles(graph) == []


def test_a_cycle_would_be_found() -> None:
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    assert _cycles(graph) == [["p.a", "p.b", "p.c", "p.a"]]


@pytest.mark.parametrize("layer", ["mutualisation.data", "mutualisation.compute"])
def test_data_and_compute_do_not_import_altair(layer: str) -> None:
    """The figures of a year can be computed without the charting library."""
    folder = PACKAGE / layer.split(".")[1]
    names = [".".join(p.relative_to(folder).with_suffix("").parts)
             for p in folder.rglob("*.py") if p.stem != "__init__"]
    imports = "; ".join(f"import {layer}.{name}" for name in sorted(names))
    code = f"import sys; {imports}; assert 'altair' not in sys.modules, 'altair imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_modules_stay_small() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert len(sizes) > 30
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_the_layers_contract_holds() -> None:
    """What ``make test`` runs, here too so that a plain ``pytest`` sees a broken layer."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 kept, 0 broken" in result.stdout
