"""The step-by-step page: its contents, and a real headless Chromium pressing Next through
every step (skipped where Chromium, its driver or selenium is not installed)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import tempfile

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr import viz
from tinygrad_lr.viz._format import format_array

HAS_DOT = shutil.which("dot") is not None and importlib.util.find_spec("graphviz") is not None
pytestmark = pytest.mark.skipif(not HAS_DOT, reason="Graphviz (dot + graphviz) not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def traced_regression():
    x = tl.tensor([1.0, 2.0, 3.0], name="x")
    y = tl.tensor([2.0, 4.0, 7.0], name="y")
    w = tl.tensor(0.5, requires_grad=True, name="w")
    b = tl.tensor(0.0, requires_grad=True, name="b")
    with viz.watch():
        loss = ((x * w + b - y) ** 2).mean()
    return viz.trace_backward(loss)


def steps_in_page(text: str) -> list[dict]:
    found = re.search(r'<script type="application/json" class="steps">(.*?)</script>', text, re.S)
    assert found
    return json.loads(found.group(1))


def test_the_page_is_self_contained_and_has_a_step_per_op_and_node(tmp_path):
    trace = traced_regression()
    text = viz.to_html(trace, tmp_path / "page.html").read_text(encoding="utf-8")
    # nothing to fetch: no external scripts, styles, images or links
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:|//)""", text)
    assert "<link" not in text and "@import" not in text
    assert text.count("<svg") == 2  # the forward picture and the backward one
    steps = steps_in_page(text)
    assert len(steps) == len(trace.forward) + len(trace.steps)
    assert [s["phase"] for s in steps] == ["forward"] * 5 + ["backward"] * 7
    for data, step in zip(steps[5:], trace.steps):
        assert data["node"] == step.key and format_array(step.arrived[0]) in data["arrived"]


def test_the_page_displays_inline_in_jupyter():
    fragment = traced_regression()._repr_html_()
    assert fragment is not None and fragment.startswith("<style>") and "<html" not in fragment


def test_a_page_needs_a_trace():
    with pytest.raises(TypeError, match=r"expected a Trace from viz\.trace_backward"):
        viz.to_html(tl.tensor([1.0]), "never.html")  # type: ignore[arg-type]


def open_chromium(profile: str):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={profile}", "--window-size=1400,900"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # The driver is given by path, so selenium never looks for one on the network.
    return webdriver.Chrome(service=Service(DRIVER), options=options)


@pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="no Chromium (apt-get install chromium chromium-driver) for the browser test",
)
def test_a_browser_steps_through_the_page(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    trace = traced_regression()
    page = viz.to_html(trace, tmp_path / "backprop.html")
    with tempfile.TemporaryDirectory() as profile:
        driver = open_chromium(profile)
        try:
            driver.get(page.resolve().as_uri())
            root = driver.find_element(By.CSS_SELECTOR, ".tl-viz")
            uid = root.get_attribute("id")

            def shown():
                current = driver.find_elements(By.CSS_SELECTOR, ".current")
                arrived = driver.find_element(By.CSS_SELECTOR, ".arrived").text
                return (
                    root.get_attribute("data-phase"),
                    [e.get_attribute("id") for e in current],
                    arrived,
                )

            expected = [("forward", f"{uid}-f-{op.key}", "") for op in trace.forward] + [
                ("backward", f"{uid}-b-{step.key}", step) for step in trace.steps
            ]
            for number, (phase, node_id, step) in enumerate(expected, start=1):
                if number > 1:
                    driver.find_element(By.CSS_SELECTOR, ".next").click()
                assert root.get_attribute("data-step") == str(number)
                got_phase, current, arrived = shown()
                assert (got_phase, current) == (phase, [node_id])
                if phase == "backward":
                    values = [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?",
                                                          arrived.split("=", 1)[1])]  # fmt: skip
                    np.testing.assert_allclose(values, np.ravel(step.arrived[0]), rtol=1e-3)
                if number == len(trace.forward) + 3:
                    driver.save_screenshot(str(tmp_path / "backprop.png"))
            assert driver.find_element(By.CSS_SELECTOR, ".next").get_attribute("disabled")
            root.send_keys(Keys.ARROW_LEFT)
            assert root.get_attribute("data-step") == str(len(expected) - 1)
            requests = [json.loads(entry["message"])["message"] for entry in
                        driver.get_log("performance")]  # fmt: skip
        finally:
            driver.quit()
    urls = {m["params"]["request"]["url"] for m in requests
            if m["method"] == "Network.requestWillBeSent"}  # fmt: skip
    assert page.resolve().as_uri() in urls
    left = [url for url in urls if not url.startswith(("file:", "data:", "chrome:", "about:"))]
    assert left == [], "the page made requests that leave the machine"
    screenshot = tmp_path / "backprop.png"
    assert screenshot.read_bytes().startswith(b"\x89PNG")
