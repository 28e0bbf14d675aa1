"""Refresh the dashboard screenshots in docs/img/ that the README shows.

    python docs/screenshots.py            # needs Debian's chromium and chromium-driver, ~1 min

Builds one page of each kind from built-in presets (a run with the mapper's mapping view, a sweep,
a comparison, an LLM page, a serving page) in a temporary folder, opens each in headless
Chromium, offline, and saves a 1200 x 800 view of its most telling part as a PNG.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from accelsim.cli import main

IMG = Path(__file__).resolve().parent / "img"
#: (file, page, what to scroll to: a figure's data-title part, or a CSS selector after "css:")
SHOTS = (("dashboard_run.png", "run/report.html", "Roofline"),
         ("dashboard_mapping.png", "run/report.html", "css:h2:nth-last-of-type(2)"),
         ("dashboard_sweep.png", "sweep.html", "css:div.controls"),
         ("dashboard_compare.png", "compare.html", "Totals"),
         ("dashboard_llm.png", "llm.html", "Per-op roofline"),
         ("dashboard_serve.png", "serve.html", "Latency distributions"))


def build(tmp: Path) -> None:
    commands = (
        ["run", "--hw", "eyeriss", "--workload", "alexnet", "--dataflow", "rs", "--out", str(tmp / "run"), "--quiet"],
        ["run", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "ws", "--out", str(tmp / "ws"), "--quiet"],
        ["sweep", "--hw", "edge_16x16", "--workload", "resnet18", "--dataflow", "ws,os,is", "--array",
         "8x8,16x16,32x32", "--sram-kb", "16,64", "--dram-bw", "8,32", "--out", str(tmp / "sweep"), "--quiet"],
        ["report", str(tmp / "run")], ["report", str(tmp / "sweep"), "-o", str(tmp / "sweep.html")],
        ["compare", str(tmp / "ws"), str(tmp / "run"), "-o", str(tmp / "compare.html")],
        ["llm", "--model", "llama2_7b", "--hw", "ideal_a100", "--prompt", "512", "--generate", "128", "--batch", "8",
         "--report", str(tmp / "llm.html"), "--format", "json"],
        ["serve", "--model", "gpt2_small", "--hw", "ideal_a100", "--kv-capacity-gib", "0.05", "--rate", "50",
         "--requests", "300", "--report", str(tmp / "serve.html"), "--format", "json"])
    for args in commands:
        result = CliRunner().invoke(main, args)
        if result.exit_code != 0:
            sys.exit(f"accelsim {' '.join(args)} failed:\n{result.output}")


def shoot(tmp: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,800",
                 "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                "downloadThroughput": -1, "uploadThroughput": -1})
    try:
        IMG.mkdir(exist_ok=True)
        for name, page, target in SHOTS:
            driver.get((tmp / page).resolve().as_uri())
            time.sleep(2)
            if target.startswith("css:"):
                driver.execute_script("document.querySelector(arguments[0]).scrollIntoView()", target[4:])
            else:
                driver.execute_script("Array.from(document.querySelectorAll('div.figure')).find(f => "
                                      "(f.getAttribute('data-title') || '').includes(arguments[0])).scrollIntoView();"
                                      "window.scrollBy(0, -50);", target)
            time.sleep(0.5)
            driver.save_screenshot(str(IMG / name))
            print(f"wrote {IMG / name} ({(IMG / name).stat().st_size / 1024:.0f} KiB)")
    finally:
        driver.quit()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        build(Path(folder))
        shoot(Path(folder))
