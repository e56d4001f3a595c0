"""The font shipped with the package, so that a report looks, and weighs, the same everywhere.

« Mutualisation Sans » is Noto Sans (SIL Open Font License 1.1, latin subset, renamed so
that no installed font can stand in for it), built into ``lib/mutualisation/fonts/`` by
``scripts/build_fonts.py`` with its licence and provenance. Three readers use it:

- vl-convert, which measures and draws the charts' text: :func:`register_with_vl_convert`
  (the theme names the family first);
- the pages (bilan, commune sheets, index): :func:`font_face_css`, ``@font-face`` rules
  whose fonts are embedded as ``data:`` URIs, so a page stays one file and offline;
- WeasyPrint, which reads those rules from the page when printing ``bilan.pdf``.

A machine's own fonts then change nothing: the same data gives the same SVG, page and PDF.
"""

from __future__ import annotations

import base64
import functools

from mutualisation.config import FONTS_DIR

#: The family name of the shipped font (the name table of its files says it).
FAMILY = "Mutualisation Sans"
#: CSS ``font-family`` value of every text of the pages and of the PDF's footer.
CSS_STACK = f'"{FAMILY}", sans-serif'
#: Font files by CSS weight and style: TrueType for vl-convert, WOFF2 (the same fonts) for
#: the pages. Italics are real ones, never slanted by a machine's fontconfig rules.
FILES = {
    (400, "normal"): "MutualisationSans-Regular",
    (700, "normal"): "MutualisationSans-Bold",
    (400, "italic"): "MutualisationSans-Italic",
    (700, "italic"): "MutualisationSans-BoldItalic",
}


@functools.cache
def register_with_vl_convert() -> None:
    """Make the shipped font known to vl-convert (once per process), before any drawing."""
    import vl_convert as vlc

    vlc.register_font_directory(str(FONTS_DIR))


@functools.cache
def font_face_css() -> str:
    """``@font-face`` rules of the shipped font, its files embedded as ``data:`` URIs."""
    rules = []
    for (weight, style), stem in FILES.items():
        data = base64.b64encode((FONTS_DIR / f"{stem}.woff2").read_bytes()).decode("ascii")
        rules.append(
            f'@font-face {{ font-family: "{FAMILY}"; font-style: {style}; '
            f"font-weight: {weight}; "
            f'src: url("data:font/woff2;base64,{data}") format("woff2"); }}'
        )
    return "\n".join(rules) + "\n"
