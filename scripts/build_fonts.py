"""Build the fonts shipped in lib/mutualisation/fonts/ (`make polices`).

Source, downloaded once into a cache outside the tree (~/.cache/mutualisation/, or
$MUTUALISATION_CACHE) and checked against the npm registry's own digests: the npm package
`@fontsource/noto-sans` (Noto Sans, SIL Open Font License 1.1), its `latin` subset (every
character of a French text, typographic quotes, dashes, €) in the two weights the reports
use, 400 and 700, upright and italic, plus the narrow no-break space of French number
formats (U+202F, drawn with the subset's thin space).

The family is renamed « Mutualisation Sans » (the OFL allows it: Noto declares no reserved
font name) so that no font installed on a machine, not even another Noto Sans, can be taken
for it: the page, vl-convert and WeasyPrint all ask for this one name.

Output (two builds give identical bytes; fontTools keeps the fonts' own timestamps):

- `MutualisationSans-{Regular,Bold,Italic,BoldItalic}.ttf`: for vl-convert, which
  measures and draws the charts' text (it reads TrueType, not WOFF2);
- `MutualisationSans-*.woff2`: the same fonts,
  embedded in the pages (`@font-face`, data: URI) and read from there by WeasyPrint;
- `LICENSE` (the package's own OFL text), `PROVENANCE.json` (package, version, tarball
  digests, SHA-256 of every file written).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "lib" / "mutualisation" / "fonts"
NPM_REGISTRY = "https://registry.npmjs.org"
NPM_PACKAGE = "@fontsource/noto-sans"
VERSION = "5.3.0"
SUBSET = "latin"
FAMILY = "Mutualisation Sans"
NARROW_NBSP, THIN_SPACE = 0x202F, 0x2009
#: (CSS weight, CSS style) -> (source file in the package, style name, file stem written).
#: The italics are shipped too: otherwise italic text would be slanted by the machine's
#: fontconfig rules (synthetic oblique), or not, depending on the machine.
FACES = {
    (400, "normal"): ("noto-sans-latin-400-normal.woff2", "Regular", "MutualisationSans-Regular"),
    (700, "normal"): ("noto-sans-latin-700-normal.woff2", "Bold", "MutualisationSans-Bold"),
    (400, "italic"): ("noto-sans-latin-400-italic.woff2", "Italic", "MutualisationSans-Italic"),
    (700, "italic"): ("noto-sans-latin-700-italic.woff2", "Bold Italic",
                      "MutualisationSans-BoldItalic"),
}


def cache_dir() -> Path:
    base = os.environ.get("MUTUALISATION_CACHE")
    path = Path(base) if base else Path.home() / ".cache" / "mutualisation"
    path.mkdir(parents=True, exist_ok=True)
    return path


def npm_tarball() -> tuple[bytes, dict]:
    """The package tarball (downloaded once), checked against dist.integrity and shasum."""
    url = f"{NPM_REGISTRY}/{NPM_PACKAGE.replace('/', '%2f')}/{VERSION}"
    with urllib.request.urlopen(url, timeout=60) as response:
        dist = json.load(response)["dist"]
    dest = cache_dir() / "npm" / f"fontsource-noto-sans-{VERSION}.tgz"
    if dest.exists():
        data = dest.read_bytes()
    else:
        print(f"téléchargement de {NPM_PACKAGE}@{VERSION}", file=sys.stderr)
        with urllib.request.urlopen(dist["tarball"], timeout=300) as response:
            data = response.read()
    algo, expected = dist["integrity"].split("-", 1)
    if base64.b64encode(hashlib.new(algo, data).digest()).decode() != expected:
        raise SystemExit(f"{NPM_PACKAGE}@{VERSION} : empreinte {algo} différente du registre")
    if hashlib.sha1(data).hexdigest() != dist["shasum"]:
        raise SystemExit(f"{NPM_PACKAGE}@{VERSION} : shasum différent du registre")
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return data, {"tarball": dist["tarball"], "integrity": dist["integrity"],
                  "shasum": dist["shasum"]}


def member(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        extracted = tar.extractfile(f"package/{name}")
        if extracted is None:
            raise SystemExit(f"{NPM_PACKAGE}@{VERSION} : pas de {name}")
        return extracted.read()


def renamed(source: bytes, style: str, stem: str) -> TTFont:
    """The font of ``source`` under the family name :data:`FAMILY` (name table only)."""
    font = TTFont(io.BytesIO(source), recalcTimestamp=False)
    names = font["name"]
    # Typographic family/subfamily (16, 17) would override 1 and 2 in some readers.
    names.removeNames(nameID=16)
    names.removeNames(nameID=17)
    for record in list(names.names):
        if record.nameID == 1:
            names.setName(FAMILY, 1, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 2:
            names.setName(style, 2, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 3:
            names.setName(f"{stem};{VERSION}", 3, record.platformID, record.platEncID,
                          record.langID)
        elif record.nameID == 4:
            names.setName(f"{FAMILY} {style}", 4, record.platformID, record.platEncID,
                          record.langID)
        elif record.nameID == 6:
            names.setName(stem, 6, record.platformID, record.platEncID, record.langID)
    # French number formats separate thousands with a narrow no-break space (U+202F), which
    # the latin subset lacks: it is drawn with the thin space's glyph (U+2009).
    for table in font["cmap"].tables:
        if table.isUnicode() and NARROW_NBSP not in table.cmap:
            table.cmap[NARROW_NBSP] = table.cmap[THIN_SPACE]
    return font


def saved(font: TTFont, flavor: str | None) -> bytes:
    font.flavor = flavor
    buffer = io.BytesIO()
    font.save(buffer, reorderTables=True)
    return buffer.getvalue()


def main() -> None:
    data, dist = npm_tarball()
    package = json.loads(member(data, "package.json"))
    OUT.mkdir(parents=True, exist_ok=True)
    written: dict[str, bytes] = {"LICENSE": member(data, "LICENSE")}
    sources = {}
    for (weight, _), (source_name, style, stem) in FACES.items():
        source = member(data, f"files/{source_name}")
        sources[source_name] = hashlib.sha256(source).hexdigest()
        font = renamed(source, style, stem)
        written[f"{stem}.ttf"] = saved(font, None)
        written[f"{stem}.woff2"] = saved(renamed(source, style, stem), "woff2")
        assert font["OS/2"].usWeightClass == weight, (stem, font["OS/2"].usWeightClass)
    provenance = {
        "famille": FAMILY,
        "police_d_origine": "Noto Sans (The Noto Project Authors)",
        "licence": package.get("license", "OFL-1.1"),
        "paquet": {"registre": "npm", "nom": NPM_PACKAGE, "version": VERSION, **dist},
        "sous_ensemble": SUBSET,
        "fichiers_d_origine_sha256": sources,
        "modification": f"nom de famille remplacé par « {FAMILY} » (table name), "
                        "U+202F (espace fine insécable) dessinée comme U+2009, "
                        "converti de WOFF2 en TrueType pour vl-convert",
        "fichiers_sha256": {name: hashlib.sha256(content).hexdigest()
                            for name, content in sorted(written.items())},
        "construit_par": "scripts/build_fonts.py",
    }
    for name, content in written.items():
        (OUT / name).write_bytes(content)
    (OUT / "PROVENANCE.json").write_text(
        json.dumps(provenance, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{len(written)} fichiers écrits dans {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
