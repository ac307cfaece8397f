"""The SE page in AppTest: MobileNet v3's gates on the bundled cat, untrained offline (with its
banner); the words about a block are its gates' numbers, as drawn in the chart."""

import math
import statistics

import numpy as np

from tests.conftest import app_at, chart_spec, figure_array, notebook_reproduces


def test_the_gates_of_every_block_and_the_extreme_channels():
    app = app_at("pages/channel_attention.py")
    assert not app.exception
    assert any("UNTRAINED WEIGHTS" in e.value for e in app.error)  # offline: random weights, said so
    # Untrained, the gates all sit at about 0.5, and the page says how close, from the gates drawn.
    grid = figure_array(chart_spec(app, "se_gates")["data"][0]["z"])
    deviation = float(np.nanmax(np.abs(grid - 0.5)))
    assert any(f"within {deviation:.4f} of 0.5" in i.value for i in app.info)
    heatmap = chart_spec(app, "se_gates")["data"][0]
    assert len(heatmap["y"]) == 8
    notebook_reproduces(app, "gated_blocks", "se_gates")
    app.selectbox(key="se_block").select_index(3)
    app.slider(key="se_count").set_value(4).run()
    assert not app.exception
    row = next(i for i, name in enumerate(heatmap["y"]) if name.startswith(app.selectbox(key="se_block").value + " "))
    gates = [float(g) for g in figure_array(heatmap["z"])[row] if not math.isnan(g)]
    [words] = [m.value for m in app.markdown if "channels below 0.1" in m.value]
    assert (f"gates from {min(gates):.3f} to {max(gates):.3f} (median {statistics.median(gates):.3f}); "
            f"{sum(g < 0.1 for g in gates)} of {len(gates)} channels below 0.1, "
            f"{sum(g > 0.9 for g in gates)} above 0.9") in words
    kept_title = chart_spec(app, "se_kept")["layout"]["title"]["text"]
    shown = [float(part.split(": ")[1]) for part in kept_title.split("gates ")[1].split(", ")]
    assert len(shown) == 4 and shown == sorted(shown, reverse=True)
    assert round(max(gates), 2) == shown[0]


def test_cbam_spatial_gate_on_the_chosen_block_as_timm_computes_it():
    """The range stated is that of timm's own SpatialAttn on the block's gated features, recovered
    from its output (output / input where the input is not zero)."""
    import torch

    import pretrained
    from app.atlas.se import gated_blocks
    from app.atlas.spatial_attention import seeded_spatial_attention
    from app.images import decode_image
    from app.preprocess import preprocess
    from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes

    app = app_at("pages/channel_attention.py")
    app.selectbox(key="se_block").select_index(2).run()
    assert not app.exception
    assert sum("UNTRAINED WEIGHTS" in e.value for e in app.error) == 2  # MobileNet v3 offline, and CBAM's conv
    spec = chart_spec(app, "cbam_maps")
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["channel average", "channel maximum",
                                                                   "gate (0 to 1)", "average after the gate"]
    loaded = pretrained.load_model("mobilenet_v3_large")  # seeded: the page's untrained weights
    rgb = decode_image(sample_bytes(DEFAULT_SAMPLE), SAMPLES[DEFAULT_SAMPLE].title).rgb
    block = {b.name: b for b in gated_blocks(loaded.model, preprocess(rgb, loaded.spec.preprocessing))}[
        app.selectbox(key="se_block").value]
    features = block.after
    with torch.no_grad():
        output = seeded_spatial_attention()(features[None])[0]
    nonzero = features.abs() > 1e-6
    gate = (output[nonzero] / features[nonzero])
    words = " ".join(c.value for c in app.caption)
    assert f"the gate runs from {float(gate.min()):.2f} to {float(gate.max()):.2f}" in words
