"""JupyterLab set-up and reviewable notebooks: kernel spec, chart switch, templates, jupytext
pairs, and the notebooks run in a real JupyterLab (Chromium, offline).

Everything is fast except :func:`test_jupyterlab_draws_every_chart_offline`, which starts
JupyterLab twice (as ``make lab`` does, and without the chart switch) and drives it with
Playwright and Debian's Chromium (45 to 70 s here). Like the other browser tests it is skipped
without Chromium, and fails instead under CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import jupytext
import nbformat
import pytest
from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

from mutualisation.config import CHART_MODE_VARIABLE
from mutualisation.present import charts
from mutualisation.present.charts import interactive as lab
from mutualisation.present.notebook import chart_mode, setup
from mutualisation.run import lab_server, lab_settings
from tests import browser

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # pragma: no cover - playwright is a dev dependency
    PlaywrightTimeout = TimeoutError  # type: ignore[assignment, misc]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TEMPLATES = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_templates() -> None:
    assert NOTEBOOKS / "bilan.ipynb" in TEMPLATES


# --------------------------------------------------------------------------
# Kernel spec (`make kernel`, `make lab`)
# --------------------------------------------------------------------------


#: The project's kernel, as `make kernel` registers it and as the templates name it.
KERNEL_SPEC = {"display_name": "Python (mutualisation)", "language": "python",
               "name": "mutualisation"}
#: `make` options that use the existing .venv/ as it is: never build or update it (no
#: install, no network), whatever the dates of requirements.lock and pyproject.toml.
USE_EXISTING_VENV = ("-o", ".venv/.installed")


def _require_venv() -> None:
    if not (ROOT / ".venv/bin/python").exists() or not (ROOT / ".venv/bin/jupyter").exists():
        pytest.skip(".venv/ absent: make venv first (these tests install nothing)")


def _make(*args: str, env: dict[str, str] | None = None) -> str:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make absent")
    return subprocess.run(
        [make, "--no-print-directory", "-C", str(ROOT), *args],
        check=True, capture_output=True, text=True, env=env,
    ).stdout


def _register_kernel() -> Path:
    """`make kernel` on the existing .venv/ (idempotent; nothing installed)."""
    _require_venv()
    _make(*USE_EXISTING_VENV, "kernel")
    return ROOT / ".venv/share/jupyter/kernels/mutualisation/kernel.json"


def _write_lab_settings() -> Path:
    """`make lab-settings` on the existing .venv/ (as `make lab` does before starting)."""
    _require_venv()
    _make(*USE_EXISTING_VENV, "lab-settings")
    return lab_settings.overrides_path(ROOT / ".venv")


def test_make_kernel_registers_the_project_python() -> None:
    """`make kernel` (run for real, on the existing .venv/): JupyterLab of the venv lists a
    kernel that starts the venv's own python."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = json.loads(_register_kernel().read_text(encoding="utf-8"))
    assert Path(spec["argv"][0]).resolve() == (ROOT / ".venv/bin/python").resolve()
    assert spec["argv"][-4:] == ["-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert spec["display_name"] == KERNEL_SPEC["display_name"]
    assert spec["language"] == KERNEL_SPEC["language"]
    assert KERNEL_SPEC["name"] in KernelSpecManager().find_kernel_specs()
    # The chart switch is NOT in the spec: a report run that picked this kernel would
    # otherwise store interactive HTML. `make lab` sets it for its server only.
    assert CHART_MODE_VARIABLE not in spec.get("env", {})


def test_make_kernel_never_builds_the_venv_here() -> None:
    """The tests' `make kernel` only registers the kernel: even with .venv/ out of date
    (pyproject.toml newer), it runs no pip and builds no venv (issue 11)."""
    commands = _make("-n", *USE_EXISTING_VENV, "-W", "pyproject.toml", "kernel").splitlines()
    assert not any("pip" in c or " venv " in f" {c} " for c in commands), commands


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_templates_open_on_the_project_kernel(path: Path) -> None:
    """No "kernel not found", no kernel change on open: the templates name the kernel
    `make lab` registers, with its display name (JupyterLab rewrites a different one)."""
    nb = nbformat.read(path, as_version=4)
    assert dict(nb.metadata.kernelspec) == KERNEL_SPEC
    header = jupytext.read(path.with_suffix(".py")).metadata["kernelspec"]
    assert dict(header) == KERNEL_SPEC


def test_make_lab_starts_jupyterlab_with_interactive_charts() -> None:
    commands = _make("-n", *USE_EXISTING_VENV, "lab").splitlines()
    lab_commands = [c for c in commands if "jupyter lab" in c]
    assert len(lab_commands) == 1
    command = lab_commands[0]
    assert command.startswith(f"{CHART_MODE_VARIABLE}=interactif ")
    assert "--notebook-dir=." in command
    assert lab_server.SERVER_OPTION in command  # templates saved without outputs
    assert command.rstrip().endswith("notebooks/bilan.ipynb")
    assert any("ipykernel install --sys-prefix --name mutualisation" in c for c in commands) or (
        ROOT / ".venv/share/jupyter/kernels/mutualisation/kernel.json"
    ).exists()
    # Offline: the server fetches no news and checks no update.
    for option in lab_settings.SERVER_OPTIONS:
        assert option in command.split(), option
    assert any(c.endswith("-m mutualisation.run.lab_settings") for c in commands) or (
        lab_settings.overrides_path(ROOT / ".venv").exists())


def test_make_lab_settings_turn_the_news_off(tmp_path: Path) -> None:
    """`make lab-settings` writes the environment's overrides.json; another plugin's
    settings already there are kept."""
    path = _write_lab_settings()
    settings = json.loads(path.read_text(encoding="utf-8"))
    assert settings[lab_settings.NOTIFICATION_PLUGIN] == {"checkForUpdates": False,
                                                           "fetchNews": "false"}
    other = lab_settings.overrides_path(tmp_path)
    other.parent.mkdir(parents=True)
    other.write_text('{"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},'
                     ' "@jupyterlab/apputils-extension:notification": {"fetchNews": "true",'
                     ' "doNotDisturbMode": true}}', encoding="utf-8")
    assert lab_settings.install(tmp_path) == other
    assert json.loads(other.read_text(encoding="utf-8")) == {
        "@jupyterlab/apputils-extension:notification": {
            "checkForUpdates": False, "doNotDisturbMode": True, "fetchNews": "false"},
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
    }


def test_make_recipes_never_see_the_switch() -> None:
    """`make report`, `make test` (nbval): static charts even if the shell exports the variable."""
    env = {**os.environ, CHART_MODE_VARIABLE: "interactif"}
    out = _make("-s", "--eval", "montre-env: ; @echo \"[$$" + CHART_MODE_VARIABLE + "]\"",
                "montre-env", env=env)
    assert out.strip() == "[]"


# --------------------------------------------------------------------------
# The chart switch: static unless MUTUALISATION_GRAPHIQUES=interactif
# --------------------------------------------------------------------------


@pytest.fixture
def restore_renderer() -> Iterator[None]:
    name, options = alt.renderers.active, dict(alt.renderers.options)
    yield
    alt.renderers.enable(name, **options)


@pytest.mark.parametrize(
    ("value", "mode"),
    [(None, "static"), ("", "static"), ("statique", "static"), ("interactif", "interactive"),
     (" Interactif ", "interactive")],
)
def test_chart_mode(value: str | None, mode: str) -> None:
    environ = {} if value is None else {CHART_MODE_VARIABLE: value}
    assert chart_mode(environ) == mode


def test_unknown_value_warns_and_stays_static() -> None:
    with pytest.warns(UserWarning, match=CHART_MODE_VARIABLE):
        assert chart_mode({CHART_MODE_VARIABLE: "oui"}) == "static"


def test_setup_without_the_variable_is_static(
    monkeypatch: pytest.MonkeyPatch, restore_renderer: None
) -> None:
    monkeypatch.delenv(CHART_MODE_VARIABLE, raising=False)
    charts.setup("interactive")
    setup()
    assert alt.renderers.active == charts.STATIC_RENDERER


def _interactive_html(chart: alt.TopLevelMixin) -> str:
    bundle = chart._repr_mimebundle_()
    return (bundle[0] if isinstance(bundle, tuple) else bundle)["text/html"]


def _french_chart() -> alt.Chart:
    values = [{"n": 1234, "nom": "</script><b>Lille</b>"}]
    return alt.Chart(alt.Data(values=values)).mark_bar().encode(
        x="n:Q", y="nom:N", tooltip=[alt.Tooltip("n:Q", format=",d")]
    )


def test_setup_with_the_variable_is_interactive_and_offline(
    monkeypatch: pytest.MonkeyPatch, restore_renderer: None
) -> None:
    monkeypatch.setenv(CHART_MODE_VARIABLE, "interactif")
    setup()
    assert alt.renderers.active == lab.RENDERER
    assert alt.renderers.options["embed_options"]["formatLocale"]["decimal"] == ","
    html = _interactive_html(_french_chart())
    assert "vegaEmbed(" in html
    assert "<script src" not in html.replace(" ", "")  # Vega is inlined, nothing from a CDN
    assert "cdn.jsdelivr" not in html


def test_interactive_chart_declares_nothing_in_the_page(restore_renderer: None) -> None:
    """JupyterLab runs every output's scripts in one page scope: a chart's only script is
    one function call; the libraries go under one name of their own, loaded once."""
    setup("interactive")
    html = _interactive_html(_french_chart())
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.DOTALL)
    assert len(scripts) == 1  # the data's "</script>" does not end it early
    code = scripts[0].strip()
    assert code.startswith("(function () {") and code.endswith("})();")
    assert f"if (!window.{lab.global_name()})" in code
    assert "\\u003c/script\\u003e\\u003cb\\u003eLille" in code
    assert html.count('class="mutualisation-graphique"') == 1


def test_explicit_mode_wins_over_the_variable(
    monkeypatch: pytest.MonkeyPatch, restore_renderer: None
) -> None:
    monkeypatch.setenv(CHART_MODE_VARIABLE, "interactif")
    setup("static")
    assert alt.renderers.active == charts.STATIC_RENDERER


# --------------------------------------------------------------------------
# Templates: no outputs; jupytext pairs in sync
# --------------------------------------------------------------------------


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_templates_have_no_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}, cellule {index} : sorties enregistrées"
            assert cell.execution_count is None, f"{path.name}, cellule {index}"
        assert "execution" not in cell.metadata, f"{path.name}, cellule {index}"


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source.strip(), list(c.metadata.get("tags", []))) for c in nb.cells]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_templates_are_in_sync_with_their_script(path: Path) -> None:
    script = path.with_suffix(".py")
    assert script.exists(), f"{script.name} manquant : .venv/bin/jupytext --sync {path}"
    assert _cells(jupytext.read(script)) == _cells(jupytext.read(path)), (
        f"{path.name} et {script.name} diffèrent : .venv/bin/jupytext --sync {path}"
    )


def test_parameters_tag_survives_the_pairing() -> None:
    for nb in (jupytext.read(NOTEBOOKS / "bilan.ipynb"), jupytext.read(NOTEBOOKS / "bilan.py")):
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1
        assert "annee = " in tagged[0].source
    assert '# %% tags=["parameters"]' in (NOTEBOOKS / "bilan.py").read_text(encoding="utf-8")


def test_pairing_is_limited_to_the_templates() -> None:
    """notebooks/*.ipynb pair with a percent script; the stored reports in outputs/ never do."""
    config = load_jupytext_configuration_file(find_jupytext_configuration_file(str(NOTEBOOKS)))
    assert "py:percent" in config.default_formats(str(NOTEBOOKS / "bilan.ipynb"))
    for report in sorted((ROOT / "outputs").glob("*/bilan.ipynb")):
        assert config.default_formats(str(report)) is None


# --------------------------------------------------------------------------
# Templates stay templates in JupyterLab (mutualisation.run.lab_server)
# --------------------------------------------------------------------------


def _executed_like_jupyterlab(notebook: dict[str, Any]) -> dict[str, Any]:
    """``notebook`` as JupyterLab sends it after Run All: outputs, counts, session metadata."""
    executed = json.loads(json.dumps(notebook))
    for count, cell in enumerate(executed["cells"], start=1):
        cell["metadata"]["trusted"] = True
        if cell["cell_type"] == "code":
            cell["execution_count"] = count
            cell["metadata"]["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
            cell["metadata"]["jupyter"] = {"outputs_hidden": False}
            cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                                "data": {"text/html": "<div>" + "x" * 1000 + "</div>"}}]
    executed["metadata"]["language_info"] = {"name": "python", "version": "3.11.7",
                                             "file_extension": ".py"}
    return executed


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_clean_template_gives_back_the_template(path: Path) -> None:
    template = json.loads(path.read_text(encoding="utf-8"))
    assert lab_server.clean_template(template) == template  # a template is left alone
    assert lab_server.clean_template(_executed_like_jupyterlab(template)) == template


def test_clean_template_keeps_what_the_author_wrote() -> None:
    nb = {"cells": [{"cell_type": "code", "id": "a", "source": "1", "execution_count": 3,
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": "1"}],
                     "metadata": {"tags": ["parameters"], "scrolled": True,
                                  "jupyter": {"source_hidden": True, "outputs_hidden": True}}},
                    {"cell_type": "markdown", "id": "b", "source": "# T",
                     "metadata": {"trusted": True}}],
          "metadata": {"kernelspec": KERNEL_SPEC, "language_info": {"name": "python",
                                                                    "version": "3.11"}},
          "nbformat": 4, "nbformat_minor": 5}
    clean = lab_server.clean_template(nb)
    assert clean["cells"][0] == {"cell_type": "code", "id": "a", "source": "1",
                                 "execution_count": None, "outputs": [],
                                 "metadata": {"tags": ["parameters"],
                                              "jupyter": {"source_hidden": True}}}
    assert clean["cells"][1]["metadata"] == {}
    assert clean["metadata"] == {"kernelspec": KERNEL_SPEC, "language_info": {"name": "python"}}
    assert nb["cells"][0]["outputs"]  # the given notebook is not modified
    # Before `make kernel`, JupyterLab switches the notebook to "Python 3": not saved so.
    nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                    "language": "python"}
    assert lab_server.clean_template(nb)["metadata"]["kernelspec"] == KERNEL_SPEC


@pytest.mark.parametrize(
    ("path", "template"),
    [("notebooks/bilan.ipynb", True), ("/notebooks/fiche_commune.ipynb", True),
     ("notebooks/bilan.py", True), ("outputs/2019/bilan.ipynb", False),
     ("bilan.ipynb", False), ("notebooks/brouillon/essai.ipynb", False)],
)
def test_which_notebooks_are_templates(path: str, template: bool) -> None:
    assert lab_server.TemplateContentsManager().is_template(path) is template


def _project_copy(root: Path) -> Path:
    """The templates, their jupytext twins and jupytext.toml, copied under ``root``."""
    (root / "notebooks").mkdir(parents=True)
    for path in [*TEMPLATES, *(p.with_suffix(".py") for p in TEMPLATES)]:
        shutil.copy2(path, root / "notebooks" / path.name)
    shutil.copy2(ROOT / "jupytext.toml", root / "jupytext.toml")
    return root


def test_contents_manager_saves_templates_without_outputs(tmp_path: Path) -> None:
    """What JupyterLab's (auto)save sends after Run All leaves the template and its
    jupytext twin byte-identical; elsewhere a notebook is saved with its outputs."""
    root = _project_copy(tmp_path)
    (root / "outputs").mkdir()
    manager = lab_server.TemplateContentsManager(root_dir=str(root))

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        model = await manager.get("notebooks/bilan.ipynb")
        executed = _executed_like_jupyterlab(model["content"])
        await manager.save({"type": "notebook", "content": executed}, "notebooks/bilan.ipynb")
        # The twin opened « as a notebook » (jupytext), run, saved: the same clean files.
        await manager.save({"type": "notebook", "content": executed}, "notebooks/bilan.py")
        await manager.save({"type": "notebook", "content": executed}, "outputs/bilan.ipynb")
        return model, await manager.get("notebooks/bilan.ipynb")

    opened, reopened = asyncio.run(scenario())
    for name in ("bilan.ipynb", "bilan.py"):
        assert (root / "notebooks" / name).read_bytes() == (NOTEBOOKS / name).read_bytes(), name
    kept = nbformat.read(root / "outputs/bilan.ipynb", as_version=4)
    assert any(cell.get("outputs") for cell in kept.cells)
    # Served with the language_info the kernel reports: starting it changes nothing.
    for model in (opened, reopened):
        assert model["content"]["metadata"]["language_info"] == (
            lab_server.kernel_language_info())
    from ipykernel.ipkernel import IPythonKernel

    assert lab_server.kernel_language_info() == IPythonKernel.language_info


# --------------------------------------------------------------------------
# The real thing: both notebooks in JupyterLab, in Chromium, offline
# --------------------------------------------------------------------------

#: Charts each template displays with the project's data/ (one Vega view or SVG each).
#: Charts of each notebook on the default data: the bilan's 9, plus legal forms, population
#: covered and the two of moyens.
CHARTS = {"notebooks/bilan.ipynb": 13, "notebooks/fiche_commune.ipynb": 4}
#: Deadlines (seconds): waited for by polling, never slept.
SERVER_START = 60
RUN_ALL = 180

#: The interactive charts in JupyterLab's outputs (mutualisation.present.charts.interactive).
CHART_SELECTOR = ".jp-OutputArea-output .mutualisation-graphique"
#: The static charts (image/svg+xml outputs).
SVG_SELECTOR = ".jp-OutputArea-output.jp-RenderedSVG img"
#: JavaScript helpers, defined in the page before JupyterLab starts.
PAGE_HELPERS = f"""(() => {{
const CHART_SELECTOR = {json.dumps(CHART_SELECTOR)};
const SVG_SELECTOR = {json.dumps(SVG_SELECTOR)};
""" + """
window.__lab = {
  panel(path) {
    const app = window.jupyterapp;
    if (!app) return null;
    return Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path)
      || null;
  },
  state(path) {
    const w = this.panel(path);
    const kernel = w && w.sessionContext.session && w.sessionContext.session.kernel;
    if (!w || !kernel) return null;
    return {kernel: kernel.name, status: kernel.status, dirty: w.context.model.dirty,
            displayName: w.sessionContext.kernelDisplayName};
  },
  errors(path) {
    const w = this.panel(path);
    const out = [];
    for (const cell of w.content.widgets) {
      if (cell.model.type !== 'code') continue;
      for (const o of cell.model.outputs.toJSON()) {
        if (o.output_type === 'error') out.push(o.ename + ': ' + o.evalue);
      }
    }
    return out;
  },
  async runAll(path, restart) {
    const app = window.jupyterapp, w = this.panel(path);
    if (restart) await w.sessionContext.restartKernel();
    app.shell.activateById(w.id);
    while (app.shell.currentWidget !== w) await new Promise(r => requestAnimationFrame(r));
    // The command runs the notebook that is current when it is called.
    const run = app.commands.execute('notebook:run-all-cells');
    window.__runs[path] = 'running';
    run.then(() => { window.__runs[path] = 'done'; },
             e => { window.__runs[path] = 'failed: ' + e; });
  },
  views(path) {
    // Every interactive chart of the notebook: is it a Vega view, with marks drawn?
    const w = this.panel(path);
    const found = w.content.node.querySelectorAll(CHART_SELECTOR);
    return Array.from(found, el => {
      const canvas = el.querySelector('canvas');
      const svg = el.querySelector('svg.marks');
      const box = el.getBoundingClientRect();
      return {embed: el.classList.contains('vega-embed'), canvas: !!canvas,
              marks: svg ? svg.querySelectorAll('path, rect, line, text').length : 0,
              width: box.width, height: box.height, text: el.textContent.slice(0, 120)};
    });
  },
  svgs(path) {
    const w = this.panel(path);
    const found = w.content.node.querySelectorAll(SVG_SELECTOR);
    return Array.from(found, img => img.complete && img.naturalWidth > 0);
  },
};
window.__runs = {};
})();
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A JupyterLab server started as `make lab` starts it, on a copy of the templates."""

    root: Path
    interactive: bool
    port: int = field(default_factory=_free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.root / ".jupyter/server.log"

    def command(self) -> tuple[dict[str, str], list[str]]:
        """`make lab`'s own command line (`make -n lab`), pointed at this copy."""
        lab_args = [
            "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            lab_args.append("--allow-root")
        lines = _make("-n", *USE_EXISTING_VENV, "lab", f"LAB_ARGS={shlex.join(lab_args)}")
        words = shlex.split(next(c for c in lines.splitlines() if "jupyter lab" in c))
        env = {k: v for k, v in os.environ.items() if k != CHART_MODE_VARIABLE}
        while "=" in words[0] and not words[0].startswith("-"):
            name, _, value = words.pop(0).partition("=")
            if self.interactive or name != CHART_MODE_VARIABLE:
                env[name] = value
        assert (env.get(CHART_MODE_VARIABLE) == "interactif") is self.interactive
        # The server's folder and the notebook it opens: those of this copy.
        words = [f"--notebook-dir={self.root}" if w == "--notebook-dir=." else w for w in words]
        if not words[-1].startswith("-"):
            words[-1] = str(self.root / words[-1])
        private = self.root / ".jupyter"
        env.update(JUPYTER_CONFIG_DIR=str(private / "config"),
                   JUPYTER_RUNTIME_DIR=str(private / "runtime"),
                   JUPYTERLAB_SETTINGS_DIR=str(private / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(private / "workspaces"))
        return env, words

    def __enter__(self) -> LabServer:
        env, words = self.command()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(words, cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT)
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"JupyterLab stopped:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}",
                                            timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)  # polling the server, not waiting for a duration
        pytest.fail(f"JupyterLab not ready in {SERVER_START} s:\n{self.log.read_text()[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class LabPage:
    """A JupyterLab page in Chromium: every request outside the server blocked and listed."""

    page: Any
    server: LabServer
    #: Every URL the page asked for (HTTP and WebSocket).
    requests: list[str] = field(default_factory=list)
    #: Requests aborted because they were not for the local server.
    blocked: list[str] = field(default_factory=list)
    #: console.error messages and uncaught exceptions.
    errors: list[str] = field(default_factory=list)

    def clean(self) -> None:
        assert self.blocked == [], f"requests that left the machine: {self.blocked}"
        assert self.errors == [], f"page or console errors: {self.errors}"
        local = _local_prefixes(self.server)
        assert [u for u in self.requests if not u.startswith(local)] == []
        assert self.requests, "no request recorded"


def _local_prefixes(server: LabServer) -> tuple[str, ...]:
    return (f"{server.url}/", f"ws://127.0.0.1:{server.port}/", "data:", "blob:", "about:")


def _watched_page(context: Any, server: LabServer) -> LabPage:
    """A new page whose requests outside the server are blocked and listed."""
    page = context.new_page()
    page.set_default_timeout(SERVER_START * 1000)  # two busy cores: JupyterLab loads slowly
    view = LabPage(page, server)
    local = _local_prefixes(server)

    def route(r: Any) -> None:
        if r.request.url.startswith(local):
            r.continue_()
        else:
            view.blocked.append(r.request.url)
            r.abort()

    def on_console(message: Any) -> None:
        if message.type == "error":
            view.errors.append(f"console: {message.text}")

    page.route("**/*", route)
    page.on("request", lambda request: view.requests.append(request.url))
    page.on("websocket", lambda socket: view.requests.append(socket.url))
    page.on("console", on_console)
    page.on("pageerror", lambda error: view.errors.append(f"pageerror: {error}"))
    return view


def _open_lab(context: Any, server: LabServer) -> LabPage:
    view = _watched_page(context, server)
    page = view.page
    page.add_init_script(PAGE_HELPERS)
    server.wait_ready()
    first = next(iter(CHARTS))
    page.goto(f"{server.url}/lab/tree/{first}?token={server.token}")
    page.wait_for_function("p => window.__lab.panel(p) !== null", arg=first)
    for path in CHARTS:  # both notebooks open at once, in two tabs
        if path != first:
            page.evaluate("p => window.jupyterapp.commands.execute('docmanager:open', {path: p})",
                          path)
    for path in CHARTS:
        _wait_kernel(view, path)
    return view


def _wait_kernel(view: LabPage, path: str) -> dict[str, Any]:
    """Wait until the notebook's kernel is started and idle, and its info applied."""
    view.page.wait_for_function(
        "p => { const s = window.__lab.state(p); return s && s.status === 'idle'; }",
        arg=path, timeout=SERVER_START * 1000)
    return view.page.evaluate("""async p => {
        const w = window.__lab.panel(p);
        await w.sessionContext.session.kernel.info;  // language_info applied after this
        await new Promise(r => requestAnimationFrame(r));
        return window.__lab.state(p);
    }""", path)


def _run_all(view: LabPage, restart: frozenset[str] = frozenset()) -> None:
    """Run All in every notebook, both at once (one kernel each); wait for the end."""
    for path in CHARTS:
        view.page.evaluate("([p, r]) => window.__lab.runAll(p, r)", [path, path in restart])
    view.page.wait_for_function(
        "ps => ps.every(p => window.__runs[p] && window.__runs[p] !== 'running')",
        arg=list(CHARTS), timeout=RUN_ALL * 1000)
    for path in CHARTS:
        assert view.page.evaluate("p => window.__runs[p]", path) == "done", path
        assert view.page.evaluate("p => window.__lab.errors(p)", path) == [], path
        _wait_kernel(view, path)


def _assert_interactive_charts(view: LabPage, shots: Path, label: str) -> None:
    for path, expected in CHARTS.items():
        # vega-embed draws asynchronously after the cell's output arrived.
        with contextlib.suppress(PlaywrightTimeout):  # the assertions below tell what is wrong
            view.page.wait_for_function(
                "([p, n]) => { const v = window.__lab.views(p);"
                " return v.length >= n && v.every(x => x.embed && (x.canvas || x.marks)); }",
                arg=[path, expected], timeout=30_000, polling=200)
        views = view.page.evaluate("p => window.__lab.views(p)", path)
        assert len(views) == expected, f"{path}: {len(views)} charts, want {expected}: {views}"
        not_vega = [v for v in views if not (v["embed"] and (v["canvas"] or v["marks"] > 5))]
        assert not_vega == [], f"{path}: charts without a Vega view: {not_vega}"
        assert view.page.evaluate("p => window.__lab.svgs(p).length", path) == 0
        # Drawn, as a reader sees it: each chart on screen is not blank.
        _activate(view, path)
        charts_shown = view.page.locator(f"[id='{_panel_id(view, path)}'] {CHART_SELECTOR}")
        for index in range(expected):
            chart = charts_shown.nth(index)
            chart.scroll_into_view_if_needed()
            png = chart.screenshot()
            if index == 0:
                (shots / f"{label}-{Path(path).stem}-premier.png").write_bytes(png)
            ink = browser.non_white_fraction(png)
            assert ink > 0.01, f"{path}: chart {index} looks blank ({ink:.4f})"
        _screenshot(view, path, shots / f"{label}-{Path(path).stem}.png")
    view.clean()


def _panel_id(view: LabPage, path: str) -> str:
    return view.page.evaluate("p => window.__lab.panel(p).id", path)


def _activate(view: LabPage, path: str) -> None:
    view.page.evaluate("""async p => {
        const app = window.jupyterapp, w = window.__lab.panel(p);
        app.shell.activateById(w.id);
        while (app.shell.currentWidget !== w) await new Promise(r => requestAnimationFrame(r));
    }""", path)


def _screenshot(view: LabPage, path: str, target: Path, chart: str = CHART_SELECTOR) -> None:
    """The page, with the notebook's first chart in view."""
    _activate(view, path)
    view.page.locator(f"[id='{_panel_id(view, path)}'] {chart}").first.scroll_into_view_if_needed()
    # JupyterLab paints the cells brought into view (content-visibility) in a later frame.
    view.page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                       "requestAnimationFrame(r)))")
    view.page.screenshot(path=str(target))


def _assert_tooltip(view: LabPage, path: str) -> None:
    """Interactive, not a picture: hovering a bar of the first chart shows its tooltip."""
    _activate(view, path)
    first = view.page.locator(f"[id='{_panel_id(view, path)}'] {CHART_SELECTOR}").first
    first.scroll_into_view_if_needed()
    first.locator(".mark-rect path").first.hover()
    tooltip = view.page.locator("#vg-tooltip-element.visible")
    tooltip.wait_for(state="visible", timeout=10_000)
    assert "Actions" in tooltip.inner_text()
    view.page.mouse.move(0, 0)


@pytest.fixture(scope="module")
def lab_playwright() -> Iterator[Any]:
    executable = browser.chromium_executable()  # skip without Chromium; fail under CI
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        if browser.in_ci():
            pytest.fail("the playwright package is missing (CI is set)")
        pytest.skip("the playwright package is not installed")
    _register_kernel()
    _write_lab_settings()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=browser.CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_jupyterlab_draws_every_chart_offline(lab_playwright: Any, tmp_path: Path) -> None:
    """`make lab`, both notebooks open, Run All, Run All again (one after a kernel restart):
    every chart drawn by Vega, nothing from the network, no error; the templates open
    unmodified on the project's kernel and are saved unchanged. Then without the chart
    switch: the same charts as SVG. Screenshots: ``captures/`` in the test's tmp_path."""
    shots = tmp_path / "captures"
    shots.mkdir()
    interactive = LabServer(_project_copy(tmp_path / "interactif"), interactive=True)
    static = LabServer(_project_copy(tmp_path / "statique"), interactive=False)
    with interactive, static:  # both start now; the static one waits its turn
        context = lab_playwright.new_context(viewport={"width": 1400, "height": 1000})
        view = _open_lab(context, interactive)
        for path in CHARTS:
            state = _wait_kernel(view, path)
            assert state["kernel"] == KERNEL_SPEC["name"], state
            assert state["displayName"] == KERNEL_SPEC["display_name"], state
            assert state["dirty"] is False, f"{path} opens as modified"
        _run_all(view)
        _assert_interactive_charts(view, shots, "1")
        _assert_tooltip(view, "notebooks/bilan.ipynb")
        _run_all(view, restart=frozenset({"notebooks/fiche_commune.ipynb"}))
        _assert_interactive_charts(view, shots, "2")
        # Saved (as autosave would): the templates and their twins are unchanged.
        for path in CHARTS:
            view.page.evaluate("p => window.__lab.panel(p).context.save()", path)
            assert view.page.evaluate("p => window.__lab.state(p).dirty", path) is False
        for path in [*TEMPLATES, *(p.with_suffix(".py") for p in TEMPLATES)]:
            copy = interactive.root / "notebooks" / path.name
            assert copy.read_bytes() == path.read_bytes(), f"{path.name} changed by JupyterLab"
        view.clean()
        context.close()

        context = lab_playwright.new_context(viewport={"width": 1400, "height": 1000})
        view = _open_lab(context, static)
        _run_all(view)
        for path, expected in CHARTS.items():
            assert view.page.evaluate("p => window.__lab.views(p).length", path) == 0
            svgs = view.page.evaluate("p => window.__lab.svgs(p)", path)
            assert svgs == [True] * expected, f"{path}: SVG charts {svgs}, want {expected}"
            _screenshot(view, path, shots / f"statique-{Path(path).stem}.png", SVG_SELECTOR)
        view.clean()
        context.close()


#: JupyterLab's toasts (react-toastify): the news prompt is one.
TOAST = ".Toastify__toast"
#: Waits until JupyterLab is restored and the notification plugin has read its settings
#: (requested after the plugin's own request), then until the page has painted; returns
#: the settings as the plugin sees them: the user's over the defaults, which the server
#: gives with the environment's overrides.json applied.
NOTIFICATION_SETTINGS = """async plugin => {
    const app = window.jupyterapp;
    await app.restored;
    const found = await app.serviceManager.settings.fetch(plugin);
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const composite = {};
    for (const [key, value] of Object.entries(found.schema.properties)) {
        composite[key] = value.default;
    }
    return Object.assign(composite, found.settings || {});
}"""


def _lab_page(context: Any, server: LabServer) -> LabPage:
    view = _watched_page(context, server)
    server.wait_ready()
    view.page.goto(f"{server.url}/lab?token={server.token}")
    view.page.wait_for_function("() => window.jupyterapp !== undefined")
    return view


def _news_requests(view: LabPage) -> list[str]:
    return [u for u in view.requests if "/lab/api/news" in u or "/lab/api/update" in u]


def test_make_lab_asks_nothing_and_fetches_no_news(lab_playwright: Any, tmp_path: Path) -> None:
    """`make lab` (its command line and the settings it writes): no « official Jupyter
    news? » prompt, in an English and in a French browser, and no request for news or
    updates, from the page or from the server. Then, with the user's setting back to
    JupyterLab's « ask » value, the prompt appears: the check above can see it."""
    server = LabServer(_project_copy(tmp_path / "lab"), interactive=False)
    with server:
        for locale in ("en-US", "fr-FR"):
            context = lab_playwright.new_context(locale=locale,
                                                 viewport={"width": 1200, "height": 800})
            view = _lab_page(context, server)
            composite = view.page.evaluate(NOTIFICATION_SETTINGS,
                                           lab_settings.NOTIFICATION_PLUGIN)
            assert composite["fetchNews"] == "false", (locale, composite)
            assert composite["checkForUpdates"] is False, (locale, composite)
            assert view.page.locator(TOAST).count() == 0, locale
            view.page.screenshot(path=str(tmp_path / f"lab-{locale}.png"))
            assert _news_requests(view) == [], locale
            view.clean()
            context.close()
        # The server answers from nothing: no news URL, an update checker that checks nothing.
        for api, empty in (("news", {"news": []}), ("update", {"notification": None})):
            with urllib.request.urlopen(f"{server.url}/lab/api/{api}?token={server.token}",
                                        timeout=30) as answer:
                assert json.loads(answer.read()) == empty, api

        # Control: the user's own setting back to JupyterLab's default, « ask ».
        context = lab_playwright.new_context(viewport={"width": 1200, "height": 800})
        view = _lab_page(context, server)
        view.page.evaluate(
            """async plugin => { await window.jupyterapp.restored;
               await window.jupyterapp.serviceManager.settings.save(
                   plugin, '{"fetchNews": "none"}'); }""", lab_settings.NOTIFICATION_PLUGIN)
        view.page.reload()
        view.page.wait_for_function("() => window.jupyterapp !== undefined")
        composite = view.page.evaluate(NOTIFICATION_SETTINGS, lab_settings.NOTIFICATION_PLUGIN)
        assert composite["fetchNews"] == "none"
        prompt = view.page.locator(TOAST)
        prompt.first.wait_for(state="visible", timeout=30_000)
        assert "official Jupyter news" in prompt.first.inner_text()
        view.page.screenshot(path=str(tmp_path / "lab-question.png"))
        context.close()
