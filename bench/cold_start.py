"""Cold start: the README's command -> health check OK -> Home rendered with its top-5,
against a one-line Streamlit app started the same way, in one run.

    .venv/bin/python -m bench.cold_start [--repeats 3]

Last line: cold_start: health_s=X rendered_s=Y baseline_health_s=A baseline_rendered_s=B ratio=R
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS, README_APP_COMMAND, free_port, running_app, wait_for_run

BASELINE_SCRIPT = 'import streamlit as st\nst.title("hello")\n'


def measure(browser, command: list[str], rendered_selector: str) -> tuple[float, float]:
    start = time.monotonic()
    with running_app(free_port(), command) as (url, healthy_after, _):
        page = browser.new_page()
        page.goto(url)
        wait_for_run(page)
        page.wait_for_selector(rendered_selector, timeout=120_000)
        rendered_after = time.monotonic() - start
        page.close()
    return healthy_after, rendered_after


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder) / "hello.py"
        baseline.write_text(BASELINE_SCRIPT)
        baseline_command = [sys.executable, "-m", "streamlit", "run", str(baseline)]
        app, hello = [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for i in range(args.repeats):
                app.append(measure(browser, README_APP_COMMAND, ".js-plotly-plot >> text=tiger cat"))
                hello.append(measure(browser, baseline_command, "h1 >> text=hello"))
                print(f"repeat {i + 1}: app {app[-1][0]:.2f}/{app[-1][1]:.2f} s, "
                      f"hello {hello[-1][0]:.2f}/{hello[-1][1]:.2f} s (health/rendered)", flush=True)
            browser.close()
    health, rendered = (statistics.median(v) for v in zip(*app))
    base_health, base_rendered = (statistics.median(v) for v in zip(*hello))
    print(f"cold_start: health_s={health:.2f} rendered_s={rendered:.2f} baseline_health_s={base_health:.2f} "
          f"baseline_rendered_s={base_rendered:.2f} ratio={rendered / base_rendered:.2f}")


if __name__ == "__main__":
    main()
