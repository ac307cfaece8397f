"""Download weights into the cache ahead of time, e.g. for an offline classroom.

    python -m pretrained.fetch resnet50 vit_b16
    python -m pretrained.fetch --all            # every model, each reported; exit 1 if any failed
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from pretrained.download import DownloadError
from pretrained.locations import OFFLINE_ENV, is_offline
from pretrained.registry import get_spec, list_specs
from pretrained.resolve import download_weights, find_weights
from pretrained.spec import ModelSpec


def fetch(spec: ModelSpec) -> str:
    """Makes the spec's weights present locally; returns a one-line report."""
    if spec.weights is None:
        return f"{spec.name}: no published weights"
    found = find_weights(spec.weights)
    if found is not None:
        return f"{spec.name}: already here ({found.origin}: {found.path})"
    if spec.weights.url is None:
        raise DownloadError(f"{spec.weights.filename} has no download address")
    if is_offline():  # before the progress bar, so each model takes one line
        raise DownloadError(f"{spec.weights.filename} is not here and offline mode ({OFFLINE_ENV}=1) is on")
    with tqdm(desc=spec.name, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr) as bar:

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done - bar.n)

        location = download_weights(spec.weights, progress)
    return f"{spec.name}: downloaded and verified ({location.path})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pretrained.fetch", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="registry names, e.g. resnet50 swin_t")
    parser.add_argument("--all", action="store_true",
                        help="every model; each is reported, and the exit status is 1 if any failed")
    args = parser.parse_args(argv)
    if args.all == bool(args.names):
        parser.error("name some models or pass --all")
    try:
        specs = list_specs() if args.all else [get_spec(n) for n in args.names]
    except KeyError as exc:
        parser.error(str(exc.args[0]))
    failures = 0
    for spec in specs:
        # One model's failure (network, hash, a full or read-only folder) must not stop the others.
        try:
            print(fetch(spec), flush=True)
        except (DownloadError, OSError) as exc:
            failures += 1
            print(f"{spec.name}: FAILED: {exc}", file=sys.stderr, flush=True)
    if failures:
        print(f"{failures} of {len(specs)} could not be fetched", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
