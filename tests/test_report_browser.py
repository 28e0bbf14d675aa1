"""The dashboard in a real browser: headless Chromium (Debian chromium + chromium-driver) opens the
HTML of a run folder and of a sweep folder, offline; every figure rendered, no script error, no
network request, and a layer named <script>alert(1)</script> shows as text without running."""
import os
import shutil
from pathlib import Path

import plotly.offline
import pytest
from click.testing import CliRunner

from accelsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
XSS = "<script>alert(1)</script>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# CI sets ACCELSIM_REQUIRE_CHROMIUM=1 (.ci/run installs chromium): there a missing browser fails
needs_chromium = pytest.mark.skipif(
    (CHROMIUM is None or CHROMEDRIVER is None) and not os.environ.get("ACCELSIM_REQUIRE_CHROMIUM"),
    reason="needs chromium and chromedriver (Debian packages chromium, chromium-driver; .ci/run installs them)")
# runs before any page script: records script errors and alert() calls
PROBE = """
window.__errors = [];
window.__alerts = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e)));
window.addEventListener('unhandledrejection', e => window.__errors.push('rejection: ' + String(e.reason)));
window.alert = window.confirm = window.prompt = m => { window.__alerts.push(String(m)); };
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    workload = tmp / "xss.yaml"
    workload.write_text(
        "name: '<b>net</b> & co'\nlayers:\n"
        f"  - {{name: '{XSS}', type: conv, N: 1, C: 16, H: 28, W: 28, M: 32, R: 3, S: 3, padding: 1}}\n"
        "  - {name: fc, type: gemm, M: 64, N: 256, K: 512}\n"
        "  - {name: dw, type: conv, N: 1, C: 32, H: 14, W: 14, M: 32, R: 3, S: 3, groups: 32}\n")
    runner = CliRunner()
    run_dir, sweep_dir = tmp / "run", tmp / "sweep"
    for args in (["run", "--hw", "edge_16x16", "--workload", str(workload), "--dataflow", "ws", "--out", str(run_dir),
                  "--quiet"],
                 ["sweep", "--hw", "edge_16x16,eyeriss", "--workload", f"{workload},alexnet", "--dataflow", "ws,os,is",
                  "--array", "8x8,16x16,32x32", "--sram-kb", "16,64", "--out", str(sweep_dir), "--quiet", "--workers", "1"],
                 ["report", str(run_dir)], ["report", str(sweep_dir), "-o", str(tmp / "sweep.html")]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    return {"run": run_dir / "report.html", "sweep": tmp / "sweep.html"}


def test_html_is_self_contained_and_escaped(reports):
    for path in reports.values():
        page = path.read_text(encoding="utf-8")
        library = plotly.offline.get_plotlyjs()
        assert page.count(library) == 1                    # plotly.js inlined exactly once
        rest = page.replace(library, "")
        assert rest.count("Plotly.newPlot") == rest.count('class="figure"') >= 5
        assert "<script src" not in rest and "http" not in rest.replace("http://www.w3.org", "")
        assert XSS not in page                             # never raw, not even inside the figures' JSON
    run = reports["run"].read_text()
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in run                  # the layer table
    assert r"&lt;script&gt;alert(1)&lt;\u002fscript&gt;" in run                  # the figures' JSON


@needs_chromium
@pytest.mark.parametrize("kind", ["run", "sweep"])
def test_dashboard_renders_in_headless_chromium(reports, kind, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,2400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER or "/usr/bin/chromedriver"), options=options)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                    "downloadThroughput": -1, "uploadThroughput": -1})
        driver.get(reports[kind].resolve().as_uri())
        state = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const figs = () => Array.from(document.querySelectorAll('div.figure'));
            const check = () => {
                const rendered = figs().map(f => f.querySelectorAll('.plot-container .main-svg').length);
                if (rendered.every(n => n > 0) || Date.now() - t0 > 30000) {
                    done({rendered: rendered,
                          titles: figs().map(f => f.getAttribute('data-title')),
                          errors: window.__errors, alerts: window.__alerts,
                          texts: Array.from(document.querySelectorAll('svg text')).map(t => t.textContent),
                          cells: Array.from(document.querySelectorAll('td, th')).map(t => t.textContent),
                          scripts: Array.from(document.scripts).filter(s => s.textContent.trim() === 'alert(1)').length,
                          resources: performance.getEntriesByType('resource').map(r => r.name),
                          plotly: typeof Plotly});
                } else { setTimeout(check, 100); }
            };
            const t0 = Date.now(); check();
        """)
        shot = tmp_path / f"dashboard_{kind}.png"
        driver.set_window_size(1400, 2400)
        driver.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
        logs = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE",)]
    finally:
        driver.quit()
    assert state["plotly"] == "object"
    assert len(state["rendered"]) >= (5 if kind == "run" else 13)   # sweep: the explorer, 2 x (Pareto + 5 run figures)
    assert all(n > 0 for n in state["rendered"]), list(zip(state["titles"], state["rendered"]))
    assert state["errors"] == [] and logs == []
    assert state["alerts"] == [] and state["scripts"] == 0
    assert state["resources"] == []                           # nothing fetched: it works offline
    assert XSS in state["texts"]                              # the layer name is shown, as text
    assert any("<b>net</b> & co" in text for text in state["texts"] + state["cells"])
