"""Print the line and branch coverage of a combined coverage.py data file (``make coverage``).

Usage: ``python scripts/coverage_summary.py RCFILE``; reads the data file that RCFILE names.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import coverage


def main(rcfile: str) -> int:
    cov = coverage.Coverage(config_file=rcfile)
    cov.load()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "coverage.json"
        cov.json_report(outfile=str(out))
        totals = json.loads(out.read_text(encoding="utf-8"))["totals"]
    lines, hit = totals["num_statements"], totals["covered_lines"]
    branches, taken = totals["num_branches"], totals["covered_branches"]
    print(f"lines:    {hit}/{lines} = {100 * hit / max(lines, 1):.1f} %")
    print(f"branches: {taken}/{branches} = {100 * taken / max(branches, 1):.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
