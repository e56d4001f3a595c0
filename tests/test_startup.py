"""The project's own processes skip rfc3987-syntax's slow import; kernels do not."""

from __future__ import annotations

import subprocess
import sys

from mutualisation.config import DATA_DIR


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_iri_checker_is_skipped_and_notebooks_still_validate() -> None:
    out = run_python(
        "import sys\n"
        "from mutualisation.startup import skip_iri_format_checker\n"
        "skip_iri_format_checker()\n"
        "import jsonschema, nbformat\n"
        "from mutualisation.run.report import BILAN_NOTEBOOK\n"
        "nbformat.validate(nbformat.read(BILAN_NOTEBOOK, as_version=4))\n"
        "print(sys.modules['rfc3987_syntax'] is None,\n"
        "      'iri' in jsonschema.FormatChecker().checkers,\n"
        "      'date' in jsonschema.FormatChecker().checkers)\n")
    assert out == "True False True"


def test_the_command_line_skips_it_before_any_command() -> None:
    out = run_python(
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from mutualisation.cli import app\n"
        f"result = CliRunner().invoke(app, ['check', '--data', {str(DATA_DIR)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sys.modules.get('rfc3987_syntax', 'absent'))\n")
    assert out == "None"


def test_it_changes_nothing_once_jsonschema_is_loaded() -> None:
    out = run_python(
        "import sys, jsonschema\n"
        "from mutualisation.startup import skip_iri_format_checker\n"
        "skip_iri_format_checker()\n"
        "print(sys.modules.get('rfc3987_syntax') is not None)\n")
    assert out == "True"
