"""The bilan as a PDF (``bilan.pdf``), printed from ``bilan.html`` by WeasyPrint.

WeasyPrint is a Python library on pango (no browser): CSS Paged Media, A4, the page's own
print stylesheet (no chart or table row cut, headings kept with what follows, tall charts
scaled to one page) plus a footer with the title and « Page N / M ». Only ``data:`` URLs
and files of the page's folder are read, nothing from the network. Title, dates (the
bilan's reference date) and the PDF /ID are fixed, so two prints give the same bytes.
WeasyPrint is imported only when printing; :func:`pdf_engine_problem` says, in French, when
it cannot be loaded (pango missing), so that a report can be written without its PDF.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mutualisation.export.figure import svg_as_images
from mutualisation.export.workbook import ExportError, fixed_time
from mutualisation.present.fonts import CSS_STACK

#: Page margins of bilan.pdf, the same as the @page rule of the page's template (the footer
#: sits in the bottom one).
PDF_MARGINS = {"top": "18mm", "bottom": "18mm", "left": "15mm", "right": "15mm"}
#: Fonts of the footer: the font shipped with the package, as in the page.
FOOTER_FONTS = CSS_STACK
#: The archival profile of bilan.pdf: PDF/A-3 (PDF/A-1 forbids the transparency of the
#: charts; 3 allows any attached file), level A (tagged: structure tree, /Lang, /Alt).
PDF_VARIANT = "pdf/a-3a"
#: Files of the report attached to the PDF (PDF/A-3 associated files, relationship Data), so
#: that the archived document carries its own figures; those missing are left out.
PDF_ATTACHMENTS: dict[str, str] = {
    "indicators.json": "Chiffres clés du bilan (format de DESIGN.md)",
    "bilan.xlsx": "Tables du bilan (classeur Excel)",
}
#: URL schemes WeasyPrint may read while printing (files only under the page's own folder).
PDF_ALLOWED_SCHEMES: tuple[str, ...] = ("data", "file")
#: Loggers silenced below ERROR while printing: WeasyPrint warns about every CSS feature of
#: JupyterLab's stylesheet it does not know; fontTools talks while subsetting fonts.
QUIET_LOGGERS: tuple[str, ...] = ("weasyprint", "fontTools")

PDF_ENGINE_ADVICE = ("Installez les bibliothèques pango (Debian : apt-get install "
                     "libpango-1.0-0 libpangoft2-1.0-0), puis relancez le rapport.")
PDF_PACKAGE_ADVICE = ("Installez-le dans l'environnement du projet (pip install weasyprint), "
                      "puis relancez le rapport.")

#: One print at a time in a process (a batch prints from several threads): WeasyPrint's
#: font machinery is not meant to be shared, and the loggers' levels are saved and restored.
_PRINT_LOCK = threading.Lock()


def _one_line(err: BaseException, limit: int = 160) -> str:
    """``Type : message`` of an exception on one line, shortened (dlopen errors are long)."""
    text = " ".join(str(err).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"{type(err).__name__} : {text}" if text else type(err).__name__


@functools.cache
def pdf_engine_problem() -> str | None:
    """None when WeasyPrint can print bilan.pdf, else one French line saying why not and what
    to do. Imports WeasyPrint (about 0.5 s) the first time; the answer is then cached.

    WeasyPrint raises OSError at import when the system libraries it loads (pango, gobject,
    fontconfig) are missing, ImportError when the package itself is.
    """
    try:
        # When its libraries are missing, WeasyPrint prints an English notice on standard
        # output before raising; the French line below says it instead.
        with contextlib.redirect_stdout(io.StringIO()):
            import weasyprint  # noqa: F401
    except ModuleNotFoundError as err:
        if err.name != "weasyprint":
            return ("bilan.pdf n'a pas été imprimé : WeasyPrint ne peut pas se charger "
                    f"({_one_line(err)}). {PDF_PACKAGE_ADVICE}")
        return ("bilan.pdf n'a pas été imprimé : le paquet Python weasyprint est absent. "
                + PDF_PACKAGE_ADVICE)
    except (ImportError, OSError) as err:
        return ("bilan.pdf n'a pas été imprimé : WeasyPrint ne peut pas se charger "
                f"({_one_line(err)}). {PDF_ENGINE_ADVICE}")
    return None


def _css_string(text: str) -> str:
    """``text`` as a double-quoted CSS string (quotes, backslashes, line breaks escaped)."""
    escaped = []
    for char in text:
        if char in '"\\' or ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\{ord(char):x} ")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def page_css(title: str) -> str:
    """The stylesheet added to the page's own when printing: A4, margins, the footer."""
    margins = " ".join(PDF_MARGINS[side] for side in ("top", "right", "bottom", "left"))
    footer = f"font-family: {FOOTER_FONTS}; font-size: 8pt; color: #555;"
    return (
        "@page {\n"
        f"  size: A4;\n  margin: {margins};\n"
        f"  @bottom-left {{ content: {_css_string(title)}; {footer}"
        " vertical-align: middle; }\n"
        '  @bottom-right { content: "Page " counter(page) " / " counter(pages); '
        f"{footer} vertical-align: middle; white-space: nowrap; }}\n"
        "}\n"
    )


def local_url_fetcher(folder: Path) -> Any:
    """A WeasyPrint URL fetcher that reads ``data:`` URLs and files under ``folder`` only.

    Anything else (http, https, ftp, a file elsewhere) raises ValueError: WeasyPrint logs
    the error and prints the page without that resource. Nothing comes from the network.
    """
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    from weasyprint.urls import URLFetcher

    root = folder.resolve()

    class LocalURLFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.partition(":")[0].lower()
            if scheme not in PDF_ALLOWED_SCHEMES:
                raise ValueError(f"URL refusée (rien ne vient du réseau) : {url[:200]}")
            if scheme == "file":
                where = Path(url2pathname(urlsplit(url).path)).resolve()
                if not where.is_relative_to(root):
                    raise ValueError(f"fichier refusé, hors du dossier du bilan : {where}")
            return super().fetch(url, headers)

    return LocalURLFetcher(allowed_protocols=PDF_ALLOWED_SCHEMES, allow_redirects=False)


@contextlib.contextmanager
def _quiet_loggers(names: tuple[str, ...] = QUIET_LOGGERS) -> Iterator[None]:
    """Set ``names`` to ERROR for the duration, then give them back their own levels."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _w3c_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _render(html_path: Path, title: str, when: dt.datetime) -> bytes:
    """The PDF of ``html_path`` as bytes: WeasyPrint, print media, fixed metadata."""
    import weasyprint

    fetcher = local_url_fetcher(html_path.parent)
    with _PRINT_LOCK, _quiet_loggers():
        # Named charts as images (mutualisation.export.figure.svg_as_images): same drawing,
        # same /Alt, a second less.
        page = weasyprint.HTML(string=svg_as_images(html_path.read_text(encoding="utf-8")),
                               base_url=str(html_path), url_fetcher=fetcher,
                               media_type="print")
        document = page.render(stylesheets=[weasyprint.CSS(string=page_css(title),
                                                           url_fetcher=fetcher)])
        # The metadata WeasyPrint read from the page, made independent of the run: the
        # title given, both dates at the bilan's reference date, no generator.
        metadata = document.metadata
        metadata.title = title
        metadata.created = metadata.modified = _w3c_time(when)
        metadata.generator = None
        attachments = [
            weasyprint.Attachment(filename=str(html_path.parent / name), name=name,
                                  description=description, created=when, modified=when,
                                  relationship="Data")
            for name, description in PDF_ATTACHMENTS.items()
            if (html_path.parent / name).is_file()
        ]
        # pdf_identifier=True: /ID is the MD5 of the file's own bytes, so it changes only
        # when the content does (the default, None, writes no /ID at all).
        return document.write_pdf(pdf_identifier=True, pdf_variant=PDF_VARIANT,
                                  attachments=attachments)


def write_pdf(bilan: Any, html_path: Path, path: Path, title: str) -> Path:
    """Print ``html_path`` to ``path`` with WeasyPrint: A4, a footer with ``title`` and
    « Page N / M », nothing from the network; the same bytes on every run.

    Raises :class:`ExportError` (French message) when WeasyPrint cannot be loaded (the
    line of :func:`pdf_engine_problem`) or fails to print the page.
    """
    problem = pdf_engine_problem()
    if problem is not None:
        raise ExportError(problem)
    try:
        pdf = _render(html_path, title, fixed_time(bilan))
    except Exception as err:
        raise ExportError(f"bilan.pdf n'a pas pu être imprimé par WeasyPrint "
                          f"({_one_line(err)}).") from err
    path.write_bytes(pdf)
    return path

