"""The exported page in a real browser (Debian's Chromium), offline: loads clean, chart drawn."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from mutualisation.export.page import export_html_file
from tests import browser
from tests.browser import assert_offline_page, non_white_fraction, open_offline, sample_notebook

TITLE = "Bilan 2019 — mutualisation"


@pytest.fixture
def page_path(tmp_path: Path) -> Path:
    import nbformat

    nb_path = tmp_path / "bilan.ipynb"
    nbformat.write(sample_notebook(), str(nb_path))
    return export_html_file(nb_path, tmp_path / "bilan.html", TITLE)


def test_page_loads_offline_and_draws_the_chart(page_path: Path) -> None:
    with open_offline(page_path) as view:
        assert view.blocked_requests == []
        assert view.console_errors == []
        assert view.page.title() == TITLE
        assert view.page.evaluate("document.documentElement.lang") == "fr"
        assert "mutualisation_code_secret" not in view.page.inner_text("body")
        chart = view.page.locator(".jp-OutputArea-output img")
        assert chart.count() == 1
        assert chart.is_visible()
        assert chart.evaluate("e => e.complete && e.naturalWidth") == 240
        assert non_white_fraction(chart.screenshot()) > 0.01
        assert view.page.locator("main").bounding_box()["width"] <= 900


def test_assert_offline_page(page_path: Path, tmp_path: Path) -> None:
    drawn = assert_offline_page(page_path, min_images=1, screenshot_dir=tmp_path / "shots")
    assert [image.tag for image in drawn] == ["img"]
    assert drawn[0].non_white > 0.5  # the bar fills two thirds of the chart
    assert (tmp_path / "shots" / "image-00.png").is_file()


def test_network_requests_and_missing_files_are_caught(tmp_path: Path) -> None:
    page = tmp_path / "cdn.html"
    page.write_text(
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        '<script src="https://cdn.example.invalid/vega.js"></script></head>'
        '<body><div class="jp-OutputArea-output"><img src="http://example.invalid/a.png" alt="">'
        '</div><p><img src="absent.png" alt="logo"></p>'
        "<script>vega.embed('#x')</script></body></html>",
        encoding="utf-8",
    )
    with open_offline(page) as view:
        assert sorted(view.blocked_requests) == ["http://example.invalid/a.png",
                                                 "https://cdn.example.invalid/vega.js"]
        assert any("vega is not defined" in error for error in view.page_errors)
        # A missing local file is no network request, but the console reports it.
        assert (tmp_path / "absent.png").as_uri() in view.requests
        assert any("ERR_FILE_NOT_FOUND" in error for error in view.console_errors)
    with pytest.raises(AssertionError, match="network requests"):
        assert_offline_page(page)


def test_a_blank_chart_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "blank.html"
    page.write_text(
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"></head><body>'
        '<div class="jp-OutputArea-output"><svg xmlns="http://www.w3.org/2000/svg" '
        'width="200" height="100"><rect width="200" height="100" fill="#fff"/></svg></div>'
        "</body></html>",
        encoding="utf-8",
    )
    with pytest.raises(AssertionError, match="looks blank"):
        assert_offline_page(page, min_images=1)


# The helpers themselves: no browser needed.


def _png(color: tuple[int, int, int, int], size: tuple[int, int] = (10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_non_white_fraction() -> None:
    assert non_white_fraction(_png((255, 255, 255, 255))) == 0.0
    assert non_white_fraction(_png((0, 0, 0, 0))) == 0.0  # transparent counts as white
    assert non_white_fraction(_png((31, 119, 180, 255))) == 1.0
    image = Image.new("RGB", (10, 10), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, 10, 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    assert non_white_fraction(buffer.getvalue()) == pytest.approx(0.3)


@pytest.mark.parametrize("ci", ["", "false", "0"])
def test_missing_chromium_is_skipped_outside_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setattr(browser, "CHROMIUM_CANDIDATES", ("/nonexistent/chromium",))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception):
        browser.chromium_executable()


def test_missing_chromium_is_skipped_without_ci_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "CHROMIUM_CANDIDATES", ("/nonexistent/chromium",))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        browser.chromium_executable()


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_missing_chromium_fails_in_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setattr(browser, "CHROMIUM_CANDIDATES", ("/nonexistent/chromium",))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        browser.chromium_executable()
