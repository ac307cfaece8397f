"""Effective receptive fields: how far a unit really sees, from 3×3 stacks to 51×51 kernels and attention."""

import streamlit as st

from app.atlas.erf import contribution_area, erf_figure
from app.atlas.erf_subjects import BY_KEY
from app.images import decode_image
from app.samples import SAMPLES, sample_bytes
from components.deferred_work import live_section, result_or_progress
from components.erf_work import erf_maps
from components.figure_export import chart_config
from components.image_picker import current_image

SHARES = (0.2, 0.5, 0.9)

st.title("Receptive fields")
st.caption("The theoretical receptive field says which pixels a unit can see; the effective one (Luo et al. 2016) "
           "measures how much each pixel really moves it: the gradient of the middle unit of the last stage "
           "with respect to the input, averaged over images. All six networks here have seeded random weights: "
           "Luo et al. show that random weights already give its shape and its growth with depth.")

image = current_image()
count = st.slider("Images (yours, then the bundled photos)", 1, 1 + len(SAMPLES), 4, key="erf_images")
others = [key for key in SAMPLES if SAMPLES[key].title != image.name][: count - 1]
pictures = [image.rgb, *[decode_image(sample_bytes(key), SAMPLES[key].title).rgb for key in others]]
names = (image.sha256, *others)


def comparison():
    snapshot = erf_maps(names, pictures)
    maps = snapshot.result if snapshot.status == "finished" else snapshot.partial or {}
    if snapshot.status != "finished":
        result_or_progress(snapshot, "Differentiating six networks' middle units")
    if not maps:
        return
    titles = {key: BY_KEY[key].title for key in maps}
    boxes = {titles[key]: BY_KEY[key].theoretical for key in maps if BY_KEY[key].theoretical is not None}
    st.plotly_chart(erf_figure({titles[k]: m for k, m in maps.items()}, boxes), width="stretch", key="erf_maps",
                    config=chart_config())
    rows = [{"Network": titles[key], "Spatial mixing": BY_KEY[key].kernels,
             **{f"Area holding {share:.0%}": contribution_area(erf, share) for share in SHARES}}
            for key, erf in maps.items()]
    st.dataframe(rows, hide_index=True, width="stretch", key="erf_table", column_config={
        f"Area holding {share:.0%}": st.column_config.NumberColumn(format="percent") for share in SHARES})
    widest = max(rows, key=lambda r: r["Area holding 50%"])
    narrowest = min(rows, key=lambda r: r["Area holding 50%"])
    st.caption(f"RepLKNet's measure (Ding et al. 2022): the smallest share of the image whose pixels hold the "
               f"given share of the contribution. Here half of it lies in {narrowest['Area holding 50%']:.2%} of "
               f"the image for {narrowest['Network']} and in {widest['Area holding 50%']:.2%} for "
               f"{widest['Network']}. {stack_fields(maps)} "
               "torchvision starts ConvNeXt's layer scale at 10⁻⁶, so untrained its blocks add almost nothing to "
               "what the stem and downsampling layers see.")


def stack_fields(maps: dict) -> str:
    """What the theoretical receptive fields of the two stacks are, against the image's side."""
    side = next(iter(maps.values())).shape[0]
    fields = [(BY_KEY[key].title, BY_KEY[key].theoretical) for key in maps if BY_KEY[key].theoretical]
    wider = [f"{title}: {pixels} px" for title, pixels in fields if pixels >= side]
    words = f"Theoretical receptive fields wider than the {side} px image ({', '.join(wider)})." if wider else ""
    inside = [title for title, pixels in fields if pixels < side]
    return words + (f" Dotted squares: the theoretical receptive fields of {', '.join(inside)}." if inside else "")


live_section("erf", comparison)
