"""The dashboards in a real browser: headless Chromium (Debian chromium + chromium-driver) opens
every page kind offline (a run, a sweep, 1- and 2-point sweeps, a comparison, an LLM page, a
serving page): every figure rendered, no script error, no network request, and a layer named
<script>alert(1)</script> shows as text without running. Then every control kind is used as a
reader would (HTML selects and toggle buttons of the sweep explorer, plotly buttons, a dropdown
and a slider) and the plotted data are checked before and after against the result tables.

With ACCELSIM_SCREENSHOTS=DIR set, a screenshot of each page kind is written to DIR (the README's
images in docs/img/ are made this way)."""
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.offline
import pytest
from click.testing import CliRunner

from accelsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
XSS = "<script>alert(1)</script>"
NET = "<b>net</b> & co"
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
# the plotted data of one figure div: per trace its visibility, x, y, z; the layout's axis types and title
DATA = """
const gd = arguments[0].classList.contains('js-plotly-plot') ? arguments[0] : arguments[0].querySelector('.js-plotly-plot');
const TYPES = {f8: Float64Array, f4: Float32Array, i4: Int32Array, u4: Uint32Array, i2: Int16Array, u2: Uint16Array,
               i1: Int8Array, u1: Uint8Array};
const decode = o => { const bin = atob(o.bdata), bytes = new Uint8Array(bin.length);
                      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
                      return Array.from(new TYPES[o.dtype](bytes.buffer)); };
const arr = a => a === undefined || a === null ? null : (a.bdata !== undefined ? decode(a) :
    Array.from(a, v => (v && v.bdata !== undefined) ? decode(v) : (v && v.length !== undefined && typeof v !== 'string') ? Array.from(v) : v));
return {traces: gd.data.map(t => ({name: t.name, visible: t.visible === undefined ? true : t.visible,
                                   x: arr(t.x), y: arr(t.y), z: arr(t.z)})),
        title: (gd.layout.title || {}).text || '',
        axes: Object.fromEntries(Object.keys(gd.layout).filter(k => /^[xy]axis/.test(k))
                                 .map(k => [k, {type: gd.layout[k].type, visible: gd.layout[k].visible}]))};
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    workload = tmp / "xss.yaml"
    workload.write_text(
        f"name: '{NET}'\nlayers:\n"
        f"  - {{name: '{XSS}', type: conv, N: 1, C: 16, H: 28, W: 28, M: 32, R: 3, S: 3, padding: 1}}\n"
        "  - {name: fc, type: gemm, M: 64, N: 256, K: 512}\n"
        "  - {name: dw, type: conv, N: 1, C: 32, H: 14, W: 14, M: 32, R: 3, S: 3, groups: 32}\n")
    runner = CliRunner()
    run_dir, sweep_dir = tmp / "run", tmp / "sweep"
    out = {"run": run_dir / "report.html", "sweep": tmp / "sweep.html", "sweep1": tmp / "sweep1.html",
           "sweep2": tmp / "sweep2.html", "compare": tmp / "compare.html", "llm": tmp / "llm.html",
           "serve": tmp / "serve.html"}
    small = ["sweep", "--hw", "edge_16x16", "--workload", str(workload), "--array", "8x8", "--quiet", "--workers", "1"]
    for args in (["run", "--hw", "edge_16x16", "--workload", str(workload), "--dataflow", "ws", "--out", str(run_dir),
                  "--quiet"],
                 ["sweep", "--hw", "edge_16x16,eyeriss", "--workload", f"{workload},alexnet", "--dataflow", "ws,os,is",
                  "--array", "8x8,16x16,32x32", "--sram-kb", "16,64", "--out", str(sweep_dir), "--quiet", "--workers", "1"],
                 small + ["--dataflow", "ws", "--out", str(tmp / "s1")],
                 small + ["--dataflow", "ws,os", "--out", str(tmp / "s2")],
                 ["report", str(run_dir)], ["report", str(sweep_dir), "-o", str(out["sweep"])],
                 ["report", str(tmp / "s1"), "-o", str(out["sweep1"])], ["report", str(tmp / "s2"), "-o", str(out["sweep2"])],
                 ["compare", str(run_dir), f"{tmp / 's2'}:1", "-o", str(out["compare"])],
                 ["llm", "--model", "gpt2_small", "--hw", "ideal_a100", "--prompt", "64", "--generate", "8", "--batch",
                  "2", "--report", str(out["llm"]), "--format", "json"],
                 ["serve", "--model", "gpt2_small", "--hw", "ideal_a100", "--kv-capacity-gib", "0.05", "--rate", "50",
                  "--requests", "60", "--report", str(out["serve"]), "--format", "json"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
    out["points"] = pd.read_parquet(sweep_dir / "points.parquet")
    return out


def test_html_is_self_contained_and_escaped(pages):
    for kind in ("run", "sweep", "compare", "llm"):
        page = pages[kind].read_text(encoding="utf-8")
        library = plotly.offline.get_plotlyjs()
        assert page.count(library) == 1                    # plotly.js inlined exactly once
        rest = page.replace(library, "")
        assert rest.count("Plotly.newPlot") == rest.count('class="figure"') >= 4
        assert "<script src" not in rest and "http" not in rest.replace("http://www.w3.org", "")
        assert XSS not in page                             # never raw, not even inside the figures' JSON
    run = pages["run"].read_text()
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in run                  # the layer table
    assert r"&lt;script&gt;alert(1)&lt;\u002fscript&gt;" in run                  # the figures' JSON


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    if CHROMIUM is None and not os.environ.get("ACCELSIM_REQUIRE_CHROMIUM"):
        pytest.skip("needs chromium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path_factory.mktemp('profile')}", "--window-size=1400,2400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER or "/usr/bin/chromedriver"), options=options)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                 "downloadThroughput": -1, "uploadThroughput": -1})
    yield browser
    browser.quit()


def _open(driver, path):
    driver.get(Path(path).resolve().as_uri())
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const figs = () => Array.from(document.querySelectorAll('div.figure'));
        const check = () => {
            const rendered = figs().map(f => f.querySelectorAll('.plot-container .main-svg').length);
            const ready = document.readyState === 'complete' && rendered.length > 0 && rendered.every(n => n > 0);
            if (ready || Date.now() - t0 > 60000) {
                done({rendered: rendered,
                      titles: figs().map(f => f.getAttribute('data-title')),
                      errors: window.__errors, alerts: window.__alerts,
                      texts: Array.from(document.querySelectorAll('svg text')).map(t => t.textContent),
                      cells: Array.from(document.querySelectorAll('td, th, option')).map(t => t.textContent),
                      scripts: Array.from(document.scripts).filter(s => s.textContent.trim() === 'alert(1)').length,
                      resources: performance.getEntriesByType('resource').map(r => r.name),
                      plotly: typeof Plotly});
            } else { setTimeout(check, 100); }
        };
        const t0 = Date.now(); check();
    """)


def _figure(driver, title_part):
    from selenium.webdriver.common.by import By
    found = [f for f in driver.find_elements(By.CSS_SELECTOR, "div.figure") if title_part in (f.get_attribute("data-title") or "")]
    assert found, title_part
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", found[0])
    return found[0]


def _data(driver, fig):
    return driver.execute_script(DATA, fig)


def _click_button(driver, fig, label):
    """A plotly updatemenu button (type buttons) or dropdown item, clicked with the mouse."""
    from selenium.webdriver.common.by import By
    for css in ("g.updatemenu-button", "g.updatemenu-dropdown-button"):
        buttons = [b for b in fig.find_elements(By.CSS_SELECTOR, css) if b.get_attribute("textContent") == label]
        if buttons:
            buttons[0].click()
            return
    raise AssertionError(f"no button {label!r}")


def _visible(data):
    return [t for t in data["traces"] if t["visible"] is True]


MIN_FIGURES = {"run": 7, "sweep": 13, "sweep1": 7, "sweep2": 7, "compare": 5, "llm": 6, "serve": 3}


@needs_chromium
@pytest.mark.parametrize("kind", list(MIN_FIGURES))
def test_page_renders_offline_without_errors(pages, driver, kind):
    state = _open(driver, pages[kind])
    shots = os.environ.get("ACCELSIM_SCREENSHOTS")
    if shots and kind in ("run", "sweep", "compare", "llm", "serve"):
        _screenshot(driver, kind, Path(shots))
    logs = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert state["plotly"] == "object"
    assert len(state["rendered"]) >= MIN_FIGURES[kind], state["titles"]
    assert all(n > 0 for n in state["rendered"]), list(zip(state["titles"], state["rendered"]))
    assert state["errors"] == [] and logs == []
    assert state["alerts"] == [] and state["scripts"] == 0
    assert state["resources"] == []                           # nothing fetched: it works offline
    if kind in ("run", "sweep", "compare"):
        assert XSS in state["texts"]                          # the layer name is shown, as text
    if kind in ("run", "sweep", "sweep2"):
        assert any(NET in text for text in state["texts"] + state["cells"])


def _screenshot(driver, kind, folder):
    """A 1200 x 800 view of the page's most telling part, as a small PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    target = {"run": "Roofline", "sweep": "sweep explorer", "compare": "Totals", "llm": "Per-op roofline",
              "serve": "Latency distributions"}[kind]
    driver.set_window_size(1200, 800)
    if kind == "sweep":
        driver.execute_script("document.querySelector('div.controls').scrollIntoView()")
    else:
        driver.execute_script("const f = Array.from(document.querySelectorAll('div.figure'))"
                              ".find(f => (f.getAttribute('data-title') || '').includes(arguments[0]));"
                              "f.scrollIntoView(); window.scrollBy(0, -60);", target)
    driver.save_screenshot(str(folder / f"dashboard_{kind}.png"))
    driver.set_window_size(1400, 2400)


@needs_chromium
def test_run_page_controls(pages, driver):
    _open(driver, pages["run"])
    fig = _figure(driver, "Energy by level")
    before = _data(driver, fig)
    assert len(_visible(before)[0]["x"]) == 3                  # per layer: the three layers
    _click_button(driver, fig, "per level")
    after = _data(driver, fig)
    assert _visible(after)[0]["x"] == ["mac", "rf", "noc", "sram", "dram", "vector"]
    per_layer_total = sum(sum(t["y"]) for t in _visible(before) if t["x"] != ["total"])
    assert sum(sum(t["y"]) for t in _visible(after)) == pytest.approx(per_layer_total, rel=1e-9)
    assert after["axes"]["xaxis3"]["visible"] is True and after["axes"]["xaxis"]["visible"] is False
    _click_button(driver, fig, "log")
    assert _data(driver, fig)["axes"]["yaxis"]["type"] == "log"

    fig = _figure(driver, "Where the traffic goes")
    layers = pd.read_csv(Path(pages["run"]).parent / "layers.csv")
    assert [t["y"] for t in _visible(_data(driver, fig)) if t["name"] == "DRAM"][0] == \
        (layers.filter(regex=r"^dram_(ifmap|filter|ofmap)_(reads|writes)$").sum(axis=1)).tolist()
    from selenium.webdriver.common.by import By
    fig.find_element(By.CSS_SELECTOR, "g.updatemenu-header").click()           # open the dropdown
    _click_button(driver, fig, "filter")
    after = _data(driver, fig)
    dram = [t["y"] for t in _visible(after) if t["name"] == "DRAM"][0]
    assert dram == layers["dram_filter_reads"].tolist() and after["title"].endswith("filter")

    fig = _figure(driver, "Buffer occupancy")
    assert "GLB" in str(_data(driver, fig)["traces"][0]["visible"]) or _visible(_data(driver, fig))
    first = [t["y"] for t in _visible(_data(driver, fig))]
    _click_button(driver, fig, "register file")
    assert [t["y"] for t in _visible(_data(driver, fig))] != first


@needs_chromium
def test_sweep_explorer_controls(pages, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    _open(driver, pages["sweep"])
    points = pages["points"]
    controls = driver.find_element(By.CSS_SELECTOR, "div.controls")
    plot = driver.find_element(By.ID, "explorer-1")
    driver.execute_script("arguments[0].scrollIntoView()", controls)

    def select(role, text):
        Select(controls.find_element(By.CSS_SELECTOR, f"select[data-role='{role}']")).select_by_visible_text(text)

    def cells():
        data = _data(driver, plot)["traces"][0]
        return data["x"], data["y"], np.array([[np.nan if v is None else v for v in row] for row in data["z"]])

    first = points[(points["workload"] == NET) & points["error"].isna()]
    # default: dataflow x array, latency, log colour, the first workload, best over hw and SRAM
    x, y, z = cells()
    assert x == ["ws", "os", "is"] and y == ["8x8", "16x16", "32x32"]
    best = first.assign(array=first["array_rows"].astype(str) + "x" + first["array_cols"].astype(str)) \
        .groupby(["array", "dataflow"])["latency_us"].min()
    unit = 1e3 if points["latency_us"].max() >= 1e3 else 1.0
    np.testing.assert_allclose(10 ** z, [[best[(a, d)] / unit for d in x] for a in y], rtol=1e-4)

    # hover: the cell's point, its configuration and the command that reproduces it (the same text as
    # run_commands, which tests/test_report_pages.py reruns to the point's exact totals)
    import json
    from accelsim.report.explorer import run_commands
    from accelsim.report.figures import esc
    custom = driver.execute_script("return arguments[0].data[0].customdata", plot)
    config, command, point, _ = custom[0][0]
    manifest = json.loads((Path(pages["sweep"]).parent / "sweep" / "manifest.json").read_text())
    row = points.set_index("point").loc[int(point)]
    assert command == esc(run_commands(points[points["point"] == int(point)], manifest)[0])
    assert command.startswith("accelsim run --hw") and f"--array {row.array_rows}x{row.array_cols}" in command
    assert config.startswith(esc(NET) + " on ") and f"dataflow {x[0]}" in config

    # linear colour: z holds the values themselves
    controls.find_element(By.CSS_SELECTOR, "[data-role='scale'] button[data-scale='linear']").click()
    x, y, z2 = cells()
    np.testing.assert_allclose(z2, 10 ** z, rtol=1e-9)

    # another metric, other axes, a fixed value: rows = dataflow, columns = array, SRAM fixed at 64 KiB
    # (eyeriss is a multicast array: its ws/os/is points failed and are not drawn)
    select("metric", "PE utilization (%)")
    select("x", "array (rows x cols)")
    select("y", "dataflow")
    select("fix-sram", "64/64/64")
    x, y, z = cells()
    assert x == ["8x8", "16x16", "32x32"] and y == ["ws", "os", "is"]
    part = first[first["sram_ifmap_kib"] == 64]
    expect = {(r.dataflow, f"{r.array_rows}x{r.array_cols}"): 100 * r.pe_utilization for r in part.itertuples()}
    np.testing.assert_allclose(z, [[expect[(d, a)] for a in x] for d in y], rtol=1e-4)
    assert controls.find_element(By.CSS_SELECTOR, "select[data-role='fix-array']").get_attribute("disabled")
    title = _data(driver, plot)["title"]
    assert "fixed SRAM ifmap/filter/ofmap (KiB) = 64/64/64" in title and "highest over" not in title
    select("fix-sram", "best over all")
    x, y, z = cells()
    best = first.groupby(["dataflow", "array_rows"])["pe_utilization"].max()
    np.testing.assert_allclose(z, [[100 * best[(d, int(a.split("x")[0]))] for a in x] for d in y], rtol=1e-4)
    assert "highest over SRAM" in _data(driver, plot)["title"]

    # workload on an axis: both workloads side by side
    select("x", "workload")
    x, _, _ = cells()
    assert len(x) == 2 and "alexnet" in x

    # the Pareto chart's log/linear buttons
    fig = _figure(driver, "Pareto front")
    assert _data(driver, fig)["axes"]["xaxis"]["type"] == "log"
    _click_button(driver, fig, "linear")
    assert _data(driver, fig)["axes"]["xaxis"]["type"] == "linear"
    assert driver.execute_script("return window.__errors") == []


@needs_chromium
def test_llm_and_compare_page_controls(pages, driver):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    _open(driver, pages["llm"])
    fig = _figure(driver, "Time per output token")
    before = _data(driver, fig)
    assert [t["name"] for t in _visible(before)] == ["TPOT, batch 2", "tokens/s, batch 2"]
    label = [t for t in fig.find_elements(By.CSS_SELECTOR, "g.slider-container text")
             if t.get_attribute("textContent") == "16"][0]
    ActionChains(driver).move_to_element(label).click().perform()              # the slider's step "16"
    after = _data(driver, fig)
    assert [t["name"] for t in _visible(after)] == ["TPOT, batch 16", "tokens/s, batch 16"]
    assert after["title"].endswith("batch 16")
    tokens_2, tokens_16 = _visible(before)[1]["y"], _visible(after)[1]["y"]
    assert all(b > a for a, b in zip(tokens_2, tokens_16))                      # batching raises throughput

    fig = _figure(driver, "Per-op roofline")
    both = _visible(_data(driver, fig))
    _click_button(driver, fig, "decode")
    decode = _visible(_data(driver, fig))
    assert len(decode) < len(both) and all(t["name"].startswith(("decode", "roof")) for t in decode)
    assert driver.execute_script("return window.__errors") == []

    _open(driver, pages["compare"])
    fig = _figure(driver, "Totals")
    _click_button(driver, fig, "log")
    assert _data(driver, fig)["axes"]["yaxis"]["type"] == "log"
    from accelsim.report.compare import compare_page
    table = compare_page([str(Path(pages["run"]).parent), f"{Path(pages['run']).parent.parent / 's2'}:1"])[2]
    fig = _figure(driver, "dram energy per layer")
    fig.find_element(By.CSS_SELECTOR, "g.updatemenu-header").click()           # the level dropdown
    _click_button(driver, fig, "sram energy")
    shown = _visible(_data(driver, fig))
    expect = table[table["metric"] == "energy_pj_sram"]["delta_pct"].tolist()
    assert len(shown) == 1 and np.allclose(shown[0]["y"], expect, rtol=1e-9)
    assert driver.execute_script("return window.__errors") == []
