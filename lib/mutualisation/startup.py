"""Start-up of this project's own processes: the command line and the chart helper.

Not of kernels: they are the analysts' environment, and a report's kernel must start as a
cold papermill kernel does.
"""

from __future__ import annotations

import sys


def skip_iri_format_checker() -> None:
    """Spare this process the import of rfc3987-syntax (1.5 to 2.5 s on this machine).

    jsonschema, imported by nbformat and by Altair, imports rfc3987-syntax when it is
    installed (JupyterLab's jupyter-events wants it), only to check the ``iri`` string
    format, and that package builds three Earley parsers at import time
    (python-jsonschema/jsonschema#1428). Nothing in this project's processes checks that
    format (the notebook and Vega-Lite schemas do not use it); without the package
    jsonschema simply does not check it. Must run before jsonschema is first imported;
    later it changes nothing.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def printable_output() -> None:
    """Standard output and error that print every French message, whatever their encoding.

    On Linux and macOS they are UTF-8. On Windows, output sent to a file or a pipe uses
    the code page (cp1252), which has no « → » or narrow no-break space: ``print`` would
    end the command with ``UnicodeEncodeError``. Such a character is written ``?`` there
    instead; streams that are strict about errors only change, and only their error mode.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            reconfigure(errors="replace")
