"""JupyterLab set-up and reviewable notebooks: kernel spec, chart switch, templates, jupytext pairs.

Fast tests only: no JupyterLab server and no notebook execution (the notebook itself
is run by the report tests and by nbval).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import altair as alt
import jupytext
import nbformat
import pytest
from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

from mutualisation import charts
from mutualisation.notebook import CHART_MODE_VARIABLE, chart_mode, setup

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TEMPLATES = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_templates() -> None:
    assert NOTEBOOKS / "bilan.ipynb" in TEMPLATES


# --------------------------------------------------------------------------
# Kernel spec (`make kernel`, `make lab`)
# --------------------------------------------------------------------------


def test_make_kernel_registers_the_project_python() -> None:
    """`make kernel` (run for real, idempotent): JupyterLab of the venv lists a kernel that
    starts the venv's own python."""
    from jupyter_client.kernelspec import KernelSpecManager

    _make("kernel")
    spec_file = ROOT / ".venv/share/jupyter/kernels/mutualisation/kernel.json"
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    assert Path(spec["argv"][0]).resolve() == (ROOT / ".venv/bin/python").resolve()
    assert spec["argv"][-4:] == ["-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert spec["display_name"] == "Python (mutualisation)"
    assert "mutualisation" in KernelSpecManager().find_kernel_specs()
    # The chart switch is NOT in the spec: a report run that picked this kernel would
    # otherwise store interactive HTML. `make lab` sets it for its server only.
    assert CHART_MODE_VARIABLE not in spec.get("env", {})


def _make(*args: str, env: dict[str, str] | None = None) -> str:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make absent")
    return subprocess.run(
        [make, "--no-print-directory", "-C", str(ROOT), *args],
        check=True, capture_output=True, text=True, env=env,
    ).stdout


def test_make_lab_starts_jupyterlab_with_interactive_charts() -> None:
    commands = _make("-n", "lab").splitlines()
    lab = [c for c in commands if "jupyter lab" in c]
    assert len(lab) == 1
    assert lab[0].startswith(f"{CHART_MODE_VARIABLE}=interactif ")
    assert "--notebook-dir=." in lab[0]
    assert lab[0].rstrip().endswith("notebooks/bilan.ipynb")
    assert any("ipykernel install --sys-prefix --name mutualisation" in c for c in commands) or (
        ROOT / ".venv/share/jupyter/kernels/mutualisation/kernel.json"
    ).exists()


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
    charts.use_interactive()
    setup()
    assert alt.renderers.active == charts.STATIC_RENDERER


def test_setup_with_the_variable_is_interactive_and_offline(
    monkeypatch: pytest.MonkeyPatch, restore_renderer: None
) -> None:
    monkeypatch.setenv(CHART_MODE_VARIABLE, "interactif")
    setup()
    assert alt.renderers.active == "html"
    assert alt.renderers.options["template"] == "inline"
    assert alt.renderers.options["embed_options"]["formatLocale"]["decimal"] == ","
    chart = alt.Chart(alt.Data(values=[{"n": 1234}])).mark_bar().encode(
        x="n:Q", tooltip=[alt.Tooltip("n:Q", format=",d")]
    )
    bundle = chart._repr_mimebundle_()
    html = (bundle[0] if isinstance(bundle, tuple) else bundle)["text/html"]
    assert "vegaEmbed(" in html
    assert "<script src" not in html.replace(" ", "")  # Vega is inlined, nothing from a CDN
    assert "cdn.jsdelivr" not in html


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
