"""The HTML view in a real headless browser (Chromium driven by Selenium).

Skipped when Chromium, its driver or Selenium is missing (``.ci/run`` installs them).
The screenshot is kept under ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SAMPLES

from convcalc import api
from convcalc.render.diagram import dot_available, write

ARTIFACTS = ROOT / "test-artifacts"


def _chromium() -> tuple[str, str] | None:
    browser = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser",
                                                           "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    found = _chromium()
    if found is None:
        if os.environ.get("CI"):  # .ci/run installs them: a skip there would hide a gap
            pytest.fail("chromium and chromedriver are not installed")
        pytest.skip("chromium and chromedriver are not installed")
    if not dot_available():
        pytest.skip("the Graphviz dot program is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def unet_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = api.analyze(SAMPLES / "unet_skip_bug.py")
    path = tmp_path_factory.mktemp("html") / "unet_skip_bug.html"
    write(report.model(), path, "html")
    return path


def _severe_console_entries(driver: Any) -> list[Any]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def test_page_loads_searches_and_shows_details(browser: Any, unet_page: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(unet_page.as_uri())
    assert browser.find_element(By.CSS_SELECTOR, "#diagram svg g.node") is not None
    assert _severe_console_entries(browser) == []

    search = browser.find_element(By.ID, "search")
    search.send_keys("concatenate_1")
    status = browser.find_element(By.ID, "search-status").text
    assert status == "1 match"
    details = browser.find_element(By.ID, "details").text
    assert details.startswith("concatenate_1")
    assert "CC101" in details  # the bad skip's error is in its details
    match = browser.find_elements(By.CSS_SELECTOR, "g.node.match")
    assert [m.get_attribute("id") for m in match] == [_node_id(browser, "concatenate_1")]

    search.clear()
    conv = browser.find_element(By.ID, _node_id(browser, "conv2d_3"))
    browser.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", conv)
    details = browser.find_element(By.ID, "details").text
    assert details.startswith("conv2d_3")
    assert "(None, floor(H/2), floor(W/2), 32)" in details
    assert "9,248" in details  # params: 3*3*32*32 + 32
    assert "floor((floor(H/2) - 1) / 1) + 1 = floor(H/2)" in details
    assert "samples/unet_skip_bug.py" in details.replace("\\", "/")
    assert "selected" in conv.get_attribute("class").split()

    svg = browser.find_element(By.CSS_SELECTOR, "#diagram svg")
    before = svg.get_dom_attribute("viewBox")
    browser.find_element(By.ID, "zoom-in").click()
    after = svg.get_dom_attribute("viewBox")
    width = [float(v.split()[2]) for v in (before, after)]
    assert width[1] < width[0]  # zoomed in: a smaller part of the diagram fills the view
    assert _severe_console_entries(browser) == []
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "html_view_unet_skip_bug.png"
    assert browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")


def _node_id(driver: Any, name: str) -> str:
    ids: list[str] = driver.execute_script(
        "var name = arguments[0];"
        "var d = JSON.parse(document.getElementById('convcalc-data').textContent);"
        "return Object.keys(d.nodes).filter(function (k) { return d.nodes[k].name === name; });",
        name)
    assert len(ids) == 1
    return ids[0]
