"""A small AST mutation tester for the package (``make mutation``).

Each mutant changes one thing in one module — a comparison flipped (``<`` ↔ ``<=``, ``==`` ↔
``!=``, ``is`` ↔ ``is not``), ``&`` ↔ ``|``, ``and`` ↔ ``or``, a ``not``/``~`` dropped, an
integer ±1, ``True`` ↔ ``False``, a dropped ``.filter``/``.unique``/``.fill_null``/``.sort``/
``sorted``, or a join type swapped — and the module's fast tests are run against it
(``pytest -x``): a failing run kills the mutant, a passing one is a survivor.

Nothing under ``lib/`` is touched: the package is copied into a temporary folder per
worker, the mutated module is written there, and the tests run with that copy first on
``PYTHONPATH`` (it shadows the editable install, in the test process and its subprocesses).

Usage: ``python scripts/mutate.py MODULE [MODULE…] [-j N] [--only LINE,LINE]``, MODULE being
``indicators``, the loader (``problems``, ``read``, ``validate``) or ``publish``. Prints the
survivors and a score per module; the mutants judged equivalent are listed in
tests/MUTATION.md (``--equivalent`` lets the script subtract the ids given there,
``module:line:description`` as printed).
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures as cf
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lib" / "mutualisation"

#: The mutated modules, by the name `make mutation` takes: their path in the package.
MODULES = {
    "indicators": "compute/indicators",
    "problems": "data/problems",
    "read": "data/read",
    "validate": "data/validate",
    "publish": "run/publish",
}
_LOADER_TESTS = ["tests/test_loading.py", "tests/test_loading_edges.py", "tests/test_excel.py",
                 "tests/test_default_data.py"]
#: The fast tests that cover each module (kernels, reports and browsers are left out).
TESTS = {
    "indicators": ["tests/test_indicators.py"],
    "problems": _LOADER_TESTS,
    "read": _LOADER_TESTS,
    "validate": _LOADER_TESTS,
    "publish": ["tests/test_publish.py", "tests/test_publish_edges.py"],
}
TIMEOUT = 300
#: Modules whose mutants run only the tests that execute the mutated statement (found by one
#: coverage run with a context per test). Not publish: its tests run it in subprocesses,
#: which the per-test contexts do not see.
SELECT_BY_COVERAGE = {"indicators", "problems", "read", "validate"}
#: Tests that exercise a module in subprocesses: run for every mutant of it.
ALWAYS = {name: ("tests/test_loading.py", "test_cli") for name in ("problems", "read", "validate")}

_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
            ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
            ast.In: ast.NotIn, ast.NotIn: ast.In}
_SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
           ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
_DROPPED_METHODS = {"filter", "unique", "fill_null", "sort"}
_JOINS = {"left": "inner", "inner": "left", "semi": "anti", "anti": "semi"}


@dataclass(frozen=True)
class Mutant:
    module: str
    index: int  # rank of the mutation point in the module's walk
    line: int
    description: str

    @property
    def ident(self) -> str:
        return f"{self.module}:{self.line}:{self.description}"


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _annotation_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        annotations = []
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            annotations.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            annotations.append(node.returns)
        for annotation in annotations:
            ids |= {id(n) for n in ast.walk(annotation)}
    return ids


def _points(tree: ast.AST):
    """Yield (node, kind, payload, description) for every mutation point, in walk order."""
    skip = _docstring_nodes(tree) | _annotation_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                new = _COMPARE.get(type(op))
                if new:
                    yield node, "compare", (i, new), f"{_SYMBOL[type(op)]} -> {_SYMBOL[new]}"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.BitOr):
            yield node, "bitop", None, "& -> |" if isinstance(node.op, ast.BitAnd) else "| -> &"
        elif isinstance(node, ast.BoolOp):
            yield node, "boolop", None, "and -> or" if isinstance(node.op, ast.And) else "or -> and"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
            yield node, "unary", None, "drop not" if isinstance(node.op, ast.Not) else "drop ~"
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                yield node, "const", not node.value, f"{node.value} -> {not node.value}"
            elif isinstance(node.value, int):
                yield node, "const", node.value + 1, f"{node.value} -> {node.value + 1}"
                yield node, "const", node.value - 1, f"{node.value} -> {node.value - 1}"
            elif isinstance(node.value, str) and node.value in _JOINS:
                yield node, "const", _JOINS[node.value], f"'{node.value}' -> '{_JOINS[node.value]}'"
        elif isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in _DROPPED_METHODS
                    and not (isinstance(func.value, ast.Name) and func.value.id in {"pl", "re"})):
                yield node, "dropcall", None, f"drop .{func.attr}()"
            elif isinstance(func, ast.Name) and func.id == "sorted" and node.args:
                yield node, "dropsorted", None, "drop sorted()"


class _Drop(ast.NodeTransformer):
    """Replace one node (a call or a ``not``/``~``) by its operand."""

    def __init__(self, node: ast.AST):
        self.node = node

    def visit(self, node):
        if node is self.node:
            if isinstance(node, ast.UnaryOp):
                return node.operand
            if isinstance(node.func, ast.Attribute):
                return node.func.value
            return node.args[0]
        return super().visit(node)


def mutants(module: str) -> tuple[str, list[Mutant]]:
    source = (PACKAGE / f"{MODULES[module]}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    found = [Mutant(module, i, getattr(node, "lineno", 0), desc)
             for i, (node, _k, _p, desc) in enumerate(_points(tree))]
    return source, found


def mutated_source(source: str, index: int) -> str:
    tree = ast.parse(source)
    node, kind, payload, _ = list(_points(tree))[index]
    if kind == "compare":
        i, new = payload
        node.ops[i] = new()
    elif kind == "bitop":
        node.op = ast.BitOr() if isinstance(node.op, ast.BitAnd) else ast.BitAnd()
    elif kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "const":
        node.value = payload
    else:
        tree = _Drop(node).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree))


def _worker_dir(base: Path, number: int) -> Path:
    """A copy of the package laid out as in the repository (``lib/mutualisation``), so that
    ``paths.PROJECT_ROOT`` finds the notebooks and data (linked, read only) beside it; an
    empty ``outputs/`` of its own. Returns the folder to put on PYTHONPATH."""
    root = base / f"w{number}"
    lib = root / "lib"
    if not lib.exists():
        shutil.copytree(PACKAGE, lib / "mutualisation",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("notebooks", "data"):
            (root / name).symlink_to(ROOT / name)
        (root / "outputs").mkdir()
    return lib


def run_tests(folder: Path | None, tests: list[str], timeout: float = TIMEOUT
              ) -> tuple[bool, float]:
    """True when the tests pass (the mutant survives); a run past ``timeout`` is a kill
    (the mutant made something hang), its whole process group stopped."""
    env = dict(os.environ)
    if folder is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               "-p", "no:randomly", "--hypothesis-seed=0", "--no-header", *tests]
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return False, time.monotonic() - start
    return code == 0, time.monotonic() - start


def _statement_lines(tree: ast.AST) -> dict[int, range]:
    """For each mutation point's rank, the source lines of the statement holding it (a
    compound statement's header only)."""
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    lines = {}
    for rank, (node, *_rest) in enumerate(_points(tree)):
        stmt = node
        while not isinstance(stmt, ast.stmt) and id(stmt) in parents:
            stmt = parents[id(stmt)]
        body = getattr(stmt, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            lines[rank] = range(stmt.lineno, body[0].lineno)
        else:
            lines[rank] = range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
    return lines


def _tests_by_line(folder: Path, module: str, tests: list[str], base: Path
                   ) -> dict[int, set[str]]:
    """Which tests (pytest node ids) execute each line of ``module``: one coverage run."""
    rc = base / f"coverage-{module}.cfg"
    rc.write_text("[run]\ndynamic_context = test_function\n"
                  f"include = {folder}/mutualisation/{MODULES[module]}.py\n", encoding="utf-8")
    data, report = base / f".coverage-{module}", base / f"coverage-{module}.json"
    env = {**os.environ, "PYTHONPATH": str(folder), "COVERAGE_FILE": str(data),
           "PYTHONDONTWRITEBYTECODE": "1"}
    for key in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG"):
        env.pop(key, None)
    subprocess.run([sys.executable, "-m", "coverage", "run", f"--rcfile={rc}", "-m", "pytest",
                    "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0", *tests],
                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    subprocess.run([sys.executable, "-m", "coverage", "json", f"--rcfile={rc}",
                    "--show-contexts", "-o", str(report)], cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL, check=True)
    by_line: dict[int, set[str]] = {}
    for info in json.loads(report.read_text(encoding="utf-8"))["files"].values():
        for line, contexts in info.get("contexts", {}).items():
            ids = set()
            for context in contexts:
                parts = context.split(".")
                if len(parts) < 3 or not parts[1].startswith("test_"):
                    continue  # "" (import time) or not a test
                ids.add(f"{parts[0]}/{parts[1]}.py::{'::'.join(parts[2:])}")
            by_line[int(line)] = ids
    return by_line


def _always(module: str) -> list[str]:
    if module not in ALWAYS:
        return []
    path, prefix = ALWAYS[module]
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return [f"{path}::{node.name}" for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith(prefix)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="+", choices=sorted(TESTS))
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--only", help="comma-separated source lines to mutate")
    parser.add_argument("--equivalent", type=Path, help="file listing equivalent mutant ids")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    args = parser.parse_args()
    equivalent: set[str] = set()
    if args.equivalent and args.equivalent.exists():
        # Every `module:line:mutation` of the section of equivalent mutants.
        text = args.equivalent.read_text(encoding="utf-8")
        section = text.split("## Surviving mutants judged equivalent", 1)[-1].split("\n## ")[0]
        equivalent = set(re.findall(r"`([a-z]+:\d+:[^`]+)`", section))
    only = {int(x) for x in args.only.split(",")} if args.only else None
    summary = []
    base = Path(tempfile.mkdtemp(prefix="mutation-"))
    try:
        for module in args.modules:
            tests = [t for t in TESTS[module] if (ROOT / t).exists()]
            source, found = mutants(module)
            if only is not None:
                found = [m for m in found if m.line in only]
            if args.list:
                for m in found:
                    print(m.ident)
                continue
            # The unmutated (but unparsed) module must pass, or every mutant would "die".
            folders = [_worker_dir(base, n) for n in range(args.jobs)]
            (folders[0] / "mutualisation" / f"{MODULES[module]}.py").write_text(
                ast.unparse(ast.parse(source)), encoding="utf-8")
            ok, took = run_tests(folders[0], tests)
            limit = max(60.0, 8 * took)  # a mutant that makes a test hang is cut short
            if not ok:
                print(f"{module}: the tests fail on the unmutated module; stopping", flush=True)
                return 2
            copy = folders[0] / "mutualisation" / f"{MODULES[module]}.py"
            copy.write_text(source, encoding="utf-8")
            selected: dict[int, list[str]] = {}
            if module in SELECT_BY_COVERAGE:
                by_line = _tests_by_line(folders[0], module, tests, base)
                spans = _statement_lines(ast.parse(source))
                for mutant in found:
                    ids = set().union(*(by_line.get(n, set()) for n in spans[mutant.index]))
                    # No test context: import-time code, or never run: every test then.
                    selected[mutant.index] = sorted(ids | set(_always(module))) if ids else tests
            print(f"{module}: {len(found)} mutants, tests {' '.join(tests)} "
                  f"({took:.0f} s unmutated)"
                  + (", each mutant against the tests that run its statement" if selected
                     else ""), flush=True)
            free = list(folders)

            def one(mutant: Mutant, folders=free, module=module, source=source, tests=tests,
                    limit=limit, selected=selected):
                folder = folders.pop()
                try:
                    (folder / "mutualisation" / f"{MODULES[module]}.py").write_text(
                        mutated_source(source, mutant.index), encoding="utf-8")
                    survived, _ = run_tests(folder, selected.get(mutant.index, tests), limit)
                finally:
                    (folder / "mutualisation" / f"{MODULES[module]}.py").write_text(
                        source, encoding="utf-8")
                    folders.append(folder)
                return mutant, survived

            survivors = []
            with cf.ThreadPoolExecutor(args.jobs) as pool:
                for done, (mutant, survived) in enumerate(pool.map(one, found), start=1):
                    if survived:
                        survivors.append(mutant)
                        print(f"  survived  {mutant.ident}", flush=True)
                    if done % 25 == 0:
                        print(f"  … {done}/{len(found)}", flush=True)
            total, killed = len(found), len(found) - len(survivors)
            eq = [m for m in survivors if m.ident in equivalent]
            net_total = total - len(eq)
            raw = 100 * killed / total if total else 100.0
            net = 100 * killed / net_total if net_total else 100.0
            line = (f"{module}: {killed}/{total} killed = {raw:.1f} %; {len(eq)} equivalent "
                    f"set aside: {killed}/{net_total} = {net:.1f} %")
            summary.append(line)
            print(line, flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if summary:
        print("\n".join(["", "Mutation scores:", *summary]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
