"""Reopening a workspace with 10 finished training runs and an uploaded photo, against a
fresh visit, in one run (issue 15: ≤ 1 s more than a fresh visit).

    .venv/bin/python -m bench.workspace_reopen [--repeats 5]

The workspace is made as a student makes it: ten runs trained on the digits through the
app's own training loop, each written to the store as it trains (metrics in batches,
checkpoints as blobs), and a JPEG photo as the current image. The server is started by the
README's command on that data folder. Each visit is a new browser context (no cookie): a
fresh visit to the Live training page (a new workspace, nothing to restore), then the same
page with the workspace's id in the URL (the photo decoded again, ten runs read back, their
curves and table drawn), timed from the navigation to the end of its first script run. The
first visit of each kind (modules, data, the runs parsed from the store) is printed apart.

Last line: `workspace_reopen: fresh_ms=… reopened_ms=… extra_ms=… ratio=…`
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import skimage.data
from PIL import Image
from playwright.sync_api import sync_playwright

from app.serving.run_owner import RunOwner
from app.training.datasets import SOURCES, split
from app.training.journal import RunJournal
from app.training.loop import TrainingConfig
from app.training.records import DataChoice
from app.training.runs import TrainingRun
from app.workspace.sqlite_store import SQLiteStore
from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port, running_app, wait_for_run

DIGITS = "Digits (8×8, scikit-learn)"
RUNS = 10


def student_workspace(folder: Path) -> str:
    """A workspace with RUNS finished runs on the digits and an uploaded photo, as the app writes them."""
    store = SQLiteStore(folder)
    workspace = store.create_workspace()
    data = SOURCES[DIGITS].load()
    owner = RunOwner()
    for number in range(1, RUNS + 1):
        config = TrainingConfig(model="LeNet-5" if number % 2 else "MLP", epochs=5, seed=number,
                                batch_norm=number % 3 == 0)
        chosen = split(data, 500, config.seed, 1000)
        choice = DataChoice(data.name, 500, 1000, len(chosen.train_y), len(chosen.val_y))
        label = f"run {number}"
        run = TrainingRun(label, config, chosen, owner,
                          journal=RunJournal(store, workspace, label, config, choice)).start()
        run.thread.join()
    photo = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(photo, format="JPEG", quality=90)
    digest = store.put_blob(workspace, photo.getvalue())
    store.save_values(workspace, {"image": json.dumps({"sha256": digest, "name": "astronaut.jpg"}),
                                  "choice:image_source": json.dumps("Upload"),
                                  "choice:train_dataset": json.dumps(DIGITS)})
    return workspace


def visit(browser, address: str) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(120_000)
    start = time.monotonic()
    page.goto(address)
    wait_for_run(page)
    seconds = time.monotonic() - start
    context.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workspace = student_workspace(Path(folder))
        with running_app(free_port(), env={"VISION_EXPLORER_DATA": folder}) as (url, _, _), \
                sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # Once each first: the first visit loads the page's modules and data, the first reopening
            # also reads and parses the runs (later ones find them in STORED_RUNS).
            first_fresh = visit(browser, f"{url}/training")
            first = visit(browser, f"{url}/training?w={workspace}")
            print(f"first visits: fresh {first_fresh:.2f} s, then reopened {first:.2f} s", flush=True)
            fresh, reopened = [], []
            for repeat in range(args.repeats):
                fresh.append(visit(browser, f"{url}/training"))
                reopened.append(visit(browser, f"{url}/training?w={workspace}"))
                print(f"repeat {repeat + 1}: fresh {fresh[-1]:.2f} s, reopened {reopened[-1]:.2f} s", flush=True)
            browser.close()
    fresh_ms, reopened_ms = statistics.median(fresh) * 1e3, statistics.median(reopened) * 1e3
    print(f"workspace_reopen: fresh_ms={fresh_ms:.0f} reopened_ms={reopened_ms:.0f} "
          f"extra_ms={reopened_ms - fresh_ms:.0f} ratio={reopened_ms / fresh_ms:.2f}")


if __name__ == "__main__":
    main()
