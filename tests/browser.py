"""Helpers for tests that open a page in Debian's Chromium through Playwright, offline.

Never ``playwright install``: the browser is the system one (``apt-get install chromium``).
When it is missing, tests using these helpers are skipped on a developer machine and
*fail* when the environment variable ``CI`` is set, so CI cannot skip them silently.

    with open_offline(path) as view:
        view.page.locator("img").first.screenshot()
        assert not view.blocked_requests and not view.console_errors

    assert_offline_page(path, min_images=1)  # every chart drawn, nothing fetched
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

#: Where Debian's package puts the browser; the real binary first (the wrapper script in
#: /usr/bin prints a harmless warning). The browser is a test tool only: bilan.pdf is
#: printed by WeasyPrint (mutualisation.export.workbook).
CHROMIUM_CANDIDATES: tuple[str, ...] = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS: list[str] = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
]
#: URL schemes a page may load in the browser; everything else is aborted.
ALLOWED_SCHEMES: tuple[str, ...] = ("file:", "data:", "blob:")

#: What counts as a chart in a page exported by mutualisation.export.page: the images and
#: top-level SVGs of the code cells' outputs.
OUTPUT_IMAGES = ".jp-OutputArea-output img, .jp-OutputArea-output svg:not(svg svg)"
VIEWPORT = {"width": 1280, "height": 900}


def in_ci() -> bool:
    """True when the environment variable CI is set to something other than a false value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _skip_or_fail(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{reason} (CI is set: browser tests must run, not be skipped)")
    pytest.skip(reason)


def chromium_executable() -> str:
    """Path of the system Chromium; skip the test (fail under CI) when there is none."""
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    _skip_or_fail(
        "Chromium is not installed (apt-get install -y chromium); looked for "
        + ", ".join(CHROMIUM_CANDIDATES)
    )


@dataclass
class OfflinePage:
    """An open page and what it tried to do."""

    page: Any  # playwright.sync_api.Page
    #: URLs the page asked for outside ALLOWED_SCHEMES (aborted).
    blocked_requests: list[str] = field(default_factory=list)
    #: console.error messages and uncaught exceptions ("pageerror: ...").
    console_errors: list[str] = field(default_factory=list)
    #: Uncaught exceptions alone.
    page_errors: list[str] = field(default_factory=list)
    #: Every URL requested, allowed or not, in order.
    requests: list[str] = field(default_factory=list)


@contextlib.contextmanager
def open_offline(html_path: str | Path, *, viewport: dict[str, int] | None = None,
                 ) -> Iterator[OfflinePage]:
    """Open ``html_path`` in headless Chromium with every network request aborted.

    Only ``file:``, ``data:`` and ``blob:`` URLs load; the others are aborted and listed in
    ``blocked_requests``. The page is loaded (``load`` event, fonts ready) when yielded.
    """
    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        _skip_or_fail("the playwright Python package is not installed")

    url = Path(html_path).resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=viewport or VIEWPORT)
            page = context.new_page()
            view = OfflinePage(page=page)

            def route(r: Any) -> None:
                request_url = r.request.url
                if request_url.startswith(ALLOWED_SCHEMES):
                    r.continue_()
                else:
                    view.blocked_requests.append(request_url)
                    r.abort()

            def on_console(message: Any) -> None:
                if message.type == "error":
                    view.console_errors.append(message.text)

            def on_page_error(error: Any) -> None:
                view.page_errors.append(str(error))
                view.console_errors.append(f"pageerror: {error}")

            page.route("**/*", route)
            page.on("request", lambda request: view.requests.append(request.url))
            page.on("console", on_console)
            page.on("pageerror", on_page_error)
            page.goto(url, wait_until="load")
            page.evaluate("document.fonts.ready.then(() => true)")
            yield view
        finally:
            browser.close()


def non_white_fraction(png_bytes: bytes, *, threshold: int = 250) -> float:
    """Share of pixels of a PNG that are not (near) white, transparency counted as white."""
    from PIL import Image, ImageChops

    with Image.open(io.BytesIO(png_bytes)) as image:
        rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    red, green, blue = Image.alpha_composite(white, rgba).convert("RGB").split()
    darkest = ImageChops.darker(ImageChops.darker(red, green), blue)
    histogram = darkest.histogram()
    total = rgba.width * rgba.height
    return sum(histogram[:threshold]) / total if total else 0.0


@dataclass
class DrawnImage:
    """One image of a page: its tag, size in CSS pixels and share of non-white pixels."""

    tag: str
    width: float
    height: float
    non_white: float


def assert_offline_page(html_path: str | Path, *, min_images: int = 0,
                        selector: str = OUTPUT_IMAGES, min_non_white: float = 0.01,
                        screenshot_dir: str | Path | None = None) -> list[DrawnImage]:
    """Open the page offline and check it loads cleanly and draws every image.

    Fails when the page requested anything outside ``file:``/``data:``/``blob:``, logged a
    console error or threw, has fewer than ``min_images`` elements matching ``selector``,
    or when one of them is hidden, not decoded (``img``), empty, or blank (less than
    ``min_non_white`` of its pixels not white). Screenshots go to ``screenshot_dir`` if
    given. Returns what was measured, one entry per image.
    """
    drawn: list[DrawnImage] = []
    with open_offline(html_path) as view:
        assert view.blocked_requests == [], f"network requests: {view.blocked_requests}"
        assert view.console_errors == [], f"console errors: {view.console_errors}"
        images = view.page.locator(selector)
        count = images.count()
        assert count >= min_images, f"{count} image(s) matching {selector!r}, want {min_images}+"
        for index in range(count):
            image = images.nth(index)
            tag = image.evaluate("e => e.tagName.toLowerCase()")
            where = f"{tag} #{index} of {html_path}"
            image.scroll_into_view_if_needed()
            assert image.is_visible(), f"{where} is not visible"
            if tag == "img":
                decoded = image.evaluate("e => e.complete && e.naturalWidth > 0")
                assert decoded, f"{where} did not load ({image.get_attribute('src')!r:.80})"
            box = image.bounding_box()
            assert box and box["width"] >= 1 and box["height"] >= 1, f"{where} is empty: {box}"
            png = image.screenshot()
            if screenshot_dir is not None:
                Path(screenshot_dir).mkdir(parents=True, exist_ok=True)
                (Path(screenshot_dir) / f"image-{index:02d}.png").write_bytes(png)
            fraction = non_white_fraction(png)
            assert fraction > min_non_white, f"{where} looks blank ({fraction:.4f} non-white)"
            drawn.append(DrawnImage(tag, box["width"], box["height"], fraction))
        # Nothing may have been requested or logged while scrolling and capturing either.
        assert view.blocked_requests == [], f"network requests: {view.blocked_requests}"
        assert view.console_errors == [], f"console errors: {view.console_errors}"
    return drawn


#: A small SVG chart: a blue bar on a transparent background.
SAMPLE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="120" viewBox="0 0 240 120">'
    '<rect x="20" y="20" width="200" height="80" fill="#1f77b4"/></svg>'
)
SAMPLE_CODE = "import mutualisation_code_secret\nmutualisation_code_secret.affiche()"


def sample_notebook() -> Any:
    """A report-like notebook: French markdown, then HTML and SVG displays of a code cell."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    markdown = (
        "# Bilan annuel de la mutualisation\n\n"
        "Les communes membres ont partagé « leurs » achats : **12 actions** déployées, "
        "voir [le schéma](https://example.org/schema)."
    )
    outputs = [
        new_output("display_data", data={
            "text/html": "<p class=\"resume\">Taux de participation : 42,5 %</p>",
            "text/plain": "Taux de participation : 42,5 %",
        }),
        new_output("display_data", data={
            "image/svg+xml": SAMPLE_SVG,
            "text/plain": "<Chart>",
        }),
    ]
    nb = new_notebook(cells=[
        new_markdown_cell(markdown, id="intro"),
        new_code_cell(SAMPLE_CODE, id="graphique", execution_count=1, outputs=outputs),
    ])
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb
