"""Channel and spatial attention: MobileNet v3's squeeze-and-excitation gates on your image, and CBAM's spatial gate."""

import streamlit as st
import torch

from app.atlas.se import before_after_mosaic, extreme_channels, gated_blocks, gates_figure
from app.atlas.spatial_attention import seeded_spatial_attention, spatial_gate, spatial_gate_figure
from app.cnn.figures import mosaic_figure
from app.preprocess import preprocess
from components.capture_cache import captured
from components.figure_export import PICTURE_TOOLBAR, chart_config
from components.image_picker import current_image
from components.models import model_key
from components.notebook_code import se_gates_code
from components.out_of_memory import stop_on_out_of_memory
from components.weights_download import shown_model

MODEL = "mobilenet_v3_large"

st.title("Channel & spatial attention")
st.caption("Squeeze-and-excitation (Hu et al. 2018): a block averages each of its feature maps to one number, "
           "passes those through two small layers and a sigmoid, and multiplies every channel by its gate in "
           "[0, 1]: channels the image calls for are kept, the others damped (MobileNet v3: a hard sigmoid).")

image = current_image()
loaded = shown_model(MODEL)
with st.spinner(f"Reading {loaded.spec.title}'s gates…"), stop_on_out_of_memory(f"running {loaded.spec.title}"):
    blocks = captured(("se gates", image.sha256, *model_key(loaded)),
                      lambda: gated_blocks(loaded.model, preprocess(image.rgb, loaded.spec.preprocessing)))

st.plotly_chart(gates_figure(blocks), width="stretch", key="se_gates", config=chart_config())
with st.expander("These gates in a notebook (Python)", icon=":material/code:"):
    st.code(se_gates_code(loaded, image), language="python", wrap_lines=True)
spread = [float(b.gates.std()) for b in blocks]
st.caption(f"The {len(blocks)} gated blocks of {loaded.spec.title}, one row each, channel by channel (red: damped "
           f"towards 0; blue: kept, towards 1). Their "
           f"spread within a block runs from {min(spread):.3f} to {max(spread):.3f} (standard deviation)"
           + ("; with random weights the gates carry nothing learned." if not loaded.weights.trained else "."))

deviation = max(float((b.gates - 0.5).abs().max()) for b in blocks)
if deviation < 0.01:
    st.info(f"Every gate of every block is within {deviation:.4f} of 0.5: the gates scale all channels alike, "
            "halving them. Choosing channels is what training teaches the gates"
            + (" (download the weights above to see it)." if not loaded.weights.trained else "."),
            icon=":material/info:")

left, right = st.columns([2, 1])
names = [b.name for b in blocks]
chosen = left.selectbox("Block", names, index=len(names) - 1, key="se_block",
                        format_func=lambda n: f"{n} · {len(blocks[names.index(n)].gates)} channels")
count = right.slider("Channels shown", 3, 12, 6, key="se_count")
block = blocks[names.index(chosen)]
gates = block.gates
st.markdown(f"**{chosen}**: gates from {float(gates.min()):.3f} to {float(gates.max()):.3f} (median "
            f"{float(gates.quantile(0.5)):.3f}); {int((gates < 0.1).sum())} of {len(gates)} channels below 0.1, "
            f"{int((gates > 0.9).sum())} above 0.9.")
kept, damped = extreme_channels(block, count)
for title, channels, key in (("Kept most", kept, "se_kept"), ("Damped most", damped, "se_damped")):
    values = ", ".join(f"{c}: {float(gates[c]):.2f}" for c in channels)
    st.plotly_chart(mosaic_figure(before_after_mosaic(block, channels), title=f"{title} — gates {values}",
                                  height=360), width="stretch", key=key, config=chart_config())
energy = float((block.after ** 2).sum() / (block.before ** 2).sum().clamp_min(torch.finfo(torch.float32).tiny))
st.caption(f"Top row: the maps the gate receives; bottom row: after it, on the same colour scale. Over all "
           f"{len(gates)} channels the gate keeps {energy:.0%} of the block's activation energy.")

st.subheader("Spatial attention (CBAM)")
st.caption("CBAM (Woo et al. 2018) follows the channel gates with a gate for each position: the maps are pooled "
           "across channels (their average and maximum), a 7×7 convolution makes one map of the two, and a sigmoid "
           "turns it into a gate in [0, 1] that scales every channel at that position.")
st.error("**UNTRAINED WEIGHTS — CBAM's 7×7 convolution has random weights**: no network torchvision or timm builds "
         "ships trained CBAM weights. The average and maximum are this block's features after its channel gates; "
         "the gate shows the computation, not what a trained CBAM would keep.", icon=":material/warning:")
found = spatial_gate(block.after, seeded_spatial_attention())
st.plotly_chart(spatial_gate_figure(found, block.after * found.gate), width="stretch", key="cbam_maps",
                config=chart_config(PICTURE_TOOLBAR))
side_h, side_w = found.gate.shape
st.caption(f"On {chosen}'s {side_h}×{side_w} map: the gate runs from {float(found.gate.min()):.2f} to "
           f"{float(found.gate.max()):.2f}; the average after the gate is drawn on the scale of the one before it."
           + (f" The features reach only {float(found.maximum.abs().max()):.2g} here, so the 7×7 convolution gives "
              "about 0 everywhere and the sigmoid about 0.5." if float(found.gate.max() - found.gate.min()) < 0.01
              else ""))
