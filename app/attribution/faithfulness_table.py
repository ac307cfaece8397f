"""The attribution page's faithfulness table and the sentences read off it.

Every sentence is computed from the numbers in the table, for this image only:
which map scores best by each metric, whether the metrics agree, which maps the
random order beats, and which map the weight randomisation changes most.
"""

from __future__ import annotations

import math

from app.attribution.faithfulness import Faithfulness
from app.attribution.sanity_check import MapSimilarity

RANDOM_ORDER = "random order"
# (column, how to read it from a Faithfulness, True when higher is better)
METRICS = (
    ("deletion area ↓", lambda result: result.deletion.area, False),
    ("insertion area ↑", lambda result: result.insertion.area, True),
    ("SRG ↑", lambda result: result.symmetric_relevance_gain, True),
)
CONSTANT_NOTE = "constant map: it orders nothing, so no curve"


def faithfulness_rows(results: dict[str, Faithfulness | None],
                      similarities: dict[str, MapSimilarity | None]) -> list[dict]:
    """One row per map (None: a constant map), numbers as floats (NaN where there is none)."""
    rows = []
    for method, result in results.items():
        row = {"method": method}
        for column, read, _ in METRICS:
            row[column] = math.nan if result is None else read(result)
        similarity = similarities.get(method)
        row["ρ with random weights"] = math.nan if similarity is None else similarity.spearman
        row["SSIM with random weights"] = math.nan if similarity is None else similarity.ssim
        row["note"] = CONSTANT_NOTE if result is None else ""
        rows.append(row)
    return rows


def _best(rows: list[dict], column: str, higher: bool) -> dict | None:
    scored = [row for row in rows if not math.isnan(row[column])]
    if not scored:
        return None
    return (max if higher else min)(scored, key=lambda row: row[column])


def faithfulness_verdict(rows: list[dict]) -> str:
    """What the table says about this image, in sentences."""
    sentences = []
    winners = {column: _best(rows, column, higher) for column, _, higher in METRICS}
    named = [f"**{row['method']}** by {column.rstrip(' ↑↓')} ({row[column]:.3f})"
             for column, row in winners.items() if row is not None]
    if named:
        distinct = {row["method"] for row in winners.values() if row is not None}
        if len(distinct) == 1:
            sentences.append(f"On this image {next(iter(distinct))} scores best by every metric.")
        else:
            sentences.append("On this image the metrics disagree: best is " + ", ".join(named) + ".")
    randoms = [row for row in rows if row["method"] == RANDOM_ORDER]
    if randoms and not math.isnan(randoms[0]["deletion area ↓"]):
        baseline = randoms[0]["deletion area ↓"]
        beaten = [row["method"] for row in rows if row["method"] != RANDOM_ORDER
                  and not math.isnan(row["deletion area ↓"]) and row["deletion area ↓"] >= baseline]
        if beaten:
            sentences.append(f"The random order deletes as well as or better than {', '.join(beaten)} "
                             f"(area {baseline:.3f}): by deletion alone, those maps do no better than "
                             "no explanation.")
    constant = [row["method"] for row in rows if row["note"] == CONSTANT_NOTE]
    if constant:
        sentences.append(f"{', '.join(constant)}: a constant map has no order, so it has no curves or areas.")
    compared = [row for row in rows if not math.isnan(row["ρ with random weights"])]
    if compared:
        changed = min(compared, key=lambda row: row["ρ with random weights"])
        kept = max(compared, key=lambda row: row["ρ with random weights"])
        sentence = (f"With random weights, {changed['method']}'s map changed most "
                    f"(ρ = {changed['ρ with random weights']:.2f})")
        if kept is not changed:
            sentence += f" and {kept['method']}'s least (ρ = {kept['ρ with random weights']:.2f})"
        sentences.append(sentence + ".")
    return " ".join(sentences)
