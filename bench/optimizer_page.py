"""The optimizer race in Chromium: how long each control takes from the input until the script
has finished and the browser has painted the result, and how long a replay of all nine racers
blocks the tab (the longest gap between animation frames while it plays).

    .venv/bin/python -m bench.optimizer_page [--only NAME ...]

Last line: optimizer_page: controls=N p50_ms=… worst_ms=… worst=NAME baseline_ms=… replay_ms=…
replay_longest_block_ms=…, where the baseline is the same measurement on a one-widget page in the
same run (machines, and how busy they are, differ: the ratio travels, the milliseconds don't).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port, running_app, wait_for_run

# Records when the script run that the next action starts has finished (running -> notRunning).
_WATCH_RUN = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  window.__seenRunning = false; window.__doneAt = null;
  if (window.__watch) window.__watch.disconnect();
  window.__watch = new MutationObserver(() => {
    const state = app.getAttribute('data-test-script-state');
    if (state === 'running') window.__seenRunning = true;
    else if (window.__seenRunning && window.__doneAt === null) window.__doneAt = performance.now();
  });
  window.__watch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  // A run too short to be rendered as running still changes the page: the last change is its end.
  window.__lastChange = null;
  if (window.__changes) window.__changes.disconnect();
  window.__changes = new MutationObserver(() => { window.__lastChange = performance.now(); });
  window.__changes.observe(document.querySelector("[data-testid='stMain']"),
                           {childList: true, subtree: true, attributes: true, characterData: true});
  return performance.now();
}"""
# Two animation frames later the browser has painted what the finished run sent.
_PAINTED = """() => new Promise(done =>
  requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now()))))"""
# The longest gap between animation frames from now on: how long the tab could not paint or answer.
_WATCH_FRAMES = """() => {
  window.__longestGap = 0; let last = performance.now(); window.__framesOn = true;
  const tick = now => { window.__longestGap = Math.max(window.__longestGap, now - last); last = now;
                        if (window.__framesOn) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""


def timed(page, action) -> float:
    """Milliseconds from `action` until its script run has finished and the result is painted."""
    started = page.evaluate(_WATCH_RUN)
    action()
    try:
        page.wait_for_function("window.__doneAt !== null", timeout=5_000)
    except PlaywrightTimeout:  # a run so short that "running" was never rendered: to its last change
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
        return (page.evaluate("() => window.__lastChange") or started) - started
    return page.evaluate(_PAINTED) - started


def main_area(page):
    return page.locator("[data-testid='stMain']")


def widget(page, testid: str, label: str):
    return main_area(page).locator(f"[data-testid='{testid}']").filter(has_text=label).first


def choose(page, label: str, option: str):
    return lambda: (widget(page, "stSelectbox", label).click(),
                    page.get_by_role("option", name=option, exact=True).click())


def nudge(page, label: str, key: str = "ArrowRight"):
    return lambda: (widget(page, "stSlider", label).get_by_role("slider").first.focus(),
                    page.keyboard.press(key))


def type_number(page, label: str, value: str):
    def action():
        field = widget(page, "stNumberInput", label).locator("input").first
        field.fill(value)
        field.press("Enter")
    return action


def open_tab(page, name: str):
    return lambda: main_area(page).get_by_role("tab", name=name).click()


def click(page, testid: str, label: str):
    return lambda: widget(page, testid, label).click()


def pill(page, name: str):
    return lambda: main_area(page).locator("[data-testid='stButtonGroup']").get_by_role(
        "button", name=name, exact=True).click()


def open_expander(page, label: str):
    def action():
        widget(page, "stExpander", label).locator("summary").click()
        page.wait_for_timeout(300)
    return action


def replay(page) -> tuple[float, float]:
    """Plays the replay to its end: (ms until the last frame shows, longest blocked gap in ms)."""
    chart = main_area(page).locator(".js-plotly-plot").first
    readout = chart.locator(".slider-group > .slider-label")
    last = chart.locator(".slider-group .slider-label").evaluate_all("labels => labels.at(-1).textContent")
    page.evaluate(_WATCH_FRAMES)
    start = time.monotonic()
    main_area(page).locator(".updatemenu-button").filter(has_text="Replay").click()
    while readout.text_content().split()[-1] != last and time.monotonic() - start < 120:
        time.sleep(0.05)
    played = (time.monotonic() - start) * 1e3
    return played, page.evaluate("() => { window.__framesOn = false; return window.__longestGap; }")


def controls(page) -> list[tuple[str, object]]:
    """Every control of the page, each changed once, the views that need a tab after opening it."""
    return [
        ("surface", choose(page, "Surface", "Rosenbrock")),
        ("surface back", choose(page, "Surface", "Quadratic bowl")),
        ("condition", nudge(page, "Condition number")),
        ("rotation", nudge(page, "Rotation")),
        ("start x", type_number(page, "Start x", "-2.000")),
        ("steps", nudge(page, "Steps")),
        ("optimizer off", pill(page, "Nesterov")),
        ("optimizer on", pill(page, "Nesterov")),
        ("schedule", choose(page, "Learning-rate schedule", "cosine")),
        ("schedule total", type_number(page, "total", "150")),
        ("SGD noise", nudge(page, "SGD gradient noise")),
        ("batch", nudge(page, "batch size")),
        ("SGD rate", type_number(page, "learning rate", "0.1")),
        ("Adam β₁", type_number(page, "β₁", "0.8")),
        ("tab 3D", open_tab(page, "3D")),
        ("tab Loss", open_tab(page, "Loss")),
        ("log scale", click(page, "stCheckbox", "Log scale")),
        ("linear back", click(page, "stCheckbox", "Log scale")),
        ("tab Table", open_tab(page, "Table")),
        ("tolerance", type_number(page, "Tolerance", "1e-04")),
        ("tab Race", open_tab(page, "Race")),
    ]


ONE_WIDGET_PAGE = 'import streamlit as st\nst.write(st.slider("Baseline", 0, 100, 50))\n'


def baseline_ms(browser, tmp: Path) -> float:
    """Median input-to-paint time of a one-widget page on this machine, now: machines (and how
    busy they are) differ, the ratio to it travels."""
    script = tmp / "one_widget.py"
    script.write_text(ONE_WIDGET_PAGE)
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with running_app(free_port(), command=command) as (url, _, _):
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url)
        wait_for_run(page)
        shown = page.locator("[data-testid='stMain'] [data-testid='stMarkdownContainer']").last
        times = []
        for _ in range(5):  # until the written value has changed and is painted (a run this short
            before = shown.text_content()  # can finish before "running" is ever rendered)
            started = page.evaluate("() => performance.now()")
            nudge(page, "Baseline")()
            page.wait_for_function("([node, old]) => node.textContent !== old",
                                   arg=[shown.element_handle(), before])
            times.append(page.evaluate(_PAINTED) - started)
        page.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="names of the controls to time (default: all)")
    args = parser.parse_args()
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        baseline = baseline_ms(browser, Path(tmp))
        print(f"{'baseline':16s} {baseline:7.0f} ms (one-widget page)", flush=True)
        with running_app(free_port()) as (url, _, _):
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(120_000)
            page.goto(f"{url}/optimizers")
            wait_for_run(page)
            the_rest = ("GD", "Momentum (course)", "AdaGrad", "AdamW")  # then all nine race
            nine = [(f"{name} on", pill(page, name)) for name in the_rest]
            times = {}
            for name, action in controls(page) + nine:
                if args.only and name not in args.only:
                    continue
                if name == "SGD rate":  # the first control inside the expander
                    open_expander(page, "Hyperparameters")()
                times[name] = timed(page, action)
                print(f"{name:16s} {times[name]:7.0f} ms", flush=True)
            played, blocked = replay(page)
            print(f"nine racers: replay to the end {played:.0f} ms, longest block {blocked:.0f} ms")
        browser.close()
    worst = max(times, key=times.get)
    print(f"optimizer_page: controls={len(times)} p50_ms={statistics.median(times.values()):.0f} "
          f"worst_ms={times[worst]:.0f} worst={worst.replace(' ', '_')} baseline_ms={baseline:.0f} "
          f"replay_ms={played:.0f} replay_longest_block_ms={blocked:.0f}")


if __name__ == "__main__":
    main()
