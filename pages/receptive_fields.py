"""Effective receptive fields: how far a unit really sees, from 3×3 stacks to 51×51 kernels and attention."""

import streamlit as st

import pretrained
from app.atlas.erf import contribution_area, erf_figure
from app.atlas.erf_subjects import BY_KEY, STAGES
from app.atlas.erf_words import field_boxes_words, trained_words
from app.images import decode_image
from app.samples import SAMPLES, sample_bytes
from components.deferred_work import live_section, result_or_progress
from components.erf_work import erf_maps, stage_boxes, trained_maps, with_trained_weights
from components.figure_export import chart_config
from components.image_picker import current_image
from components.notebook_code import erf_code
from components.weights_download import download_button, show_download_result

SHARES = (0.2, 0.5, 0.9)

st.title("Receptive fields")
st.caption("The theoretical receptive field says which pixels a unit can see; the effective one (Luo et al. 2016) "
           "measures how much each pixel really moves it: the gradient of the middle unit of a stage with respect "
           "to the input, averaged over images. The six networks below have seeded random weights: Luo et al. "
           "show that random weights already give its shape and its growth with depth.")

image = current_image()
left, right = st.columns(2)
count = left.slider("Images (yours, then the bundled photos)", 1, 1 + len(SAMPLES), 4, key="erf_images")
stage = STAGES.index(right.select_slider("Stage whose middle unit is measured", STAGES, STAGES[-1], key="erf_stage"))
others = [key for key in SAMPLES if SAMPLES[key].title != image.name][: count - 1]
pictures = [image.rgb, *[decode_image(sample_bytes(key), SAMPLES[key].title).rgb for key in others]]
names = (image.sha256, *others)


def comparison():
    snapshot = erf_maps(names, pictures, stage)
    maps = snapshot.result if snapshot.status == "finished" else snapshot.partial or {}
    if snapshot.status != "finished":
        result_or_progress(snapshot, "Differentiating six networks' middle units")
    if not maps:
        return
    titles = {key: BY_KEY[key].title for key in maps}
    traced = stage_boxes()
    boxes = {key: traced.result[key][stage] for key in maps} if traced.status == "finished" else {}
    side = next(iter(maps.values())).shape[0]
    st.plotly_chart(erf_figure({titles[k]: m for k, m in maps.items()},
                               {titles[k]: b for k, b in boxes.items() if b is not None}),
                    width="stretch", key="erf_maps", config=chart_config())
    if traced.status == "finished" and len(maps) == len(BY_KEY):
        with st.expander("These maps in a notebook (Python)", icon=":material/code:"):
            st.code(erf_code(image, others, stage), language="python", wrap_lines=True)
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
               f"{widest['Network']}. {field_boxes_words(titles, boxes, side)} "
               "torchvision starts ConvNeXt's layer scale at 10⁻⁶, so untrained its blocks add almost nothing to "
               "what the stem and downsampling layers see.")
    trained_against_untrained(maps, titles)


def trained_against_untrained(untrained: dict, titles: dict):
    st.subheader("Trained against untrained")
    subjects = with_trained_weights()
    if not subjects:
        show_download_result()
        st.info("No trained weights for these networks are on this server, so only the untrained fields are "
                "shown. ResNet-50, ConvNeXt-T, ViT-B/16 and Swin-T have published weights; the two large-kernel "
                "stacks are built from the papers' block definitions and have none.")
        for subject in (s for s in BY_KEY.values() if s.trained):
            spec = pretrained.get_spec(subject.trained.registry)
            if pretrained.weights_status(spec) is pretrained.WeightsStatus.DOWNLOADABLE:
                download_button(spec)
        return
    snapshot = trained_maps(names, pictures, stage, subjects)
    trained = snapshot.result if snapshot.status == "finished" else snapshot.partial or {}
    if snapshot.status != "finished":
        result_or_progress(snapshot, "Differentiating the trained networks' middle units")
    pairs = {f"{titles[k]}, {kind}": m for k in trained for kind, m in (("untrained", untrained[k]),
                                                                        ("trained", trained[k]))}
    if pairs:
        st.plotly_chart(erf_figure(pairs, {}, cols=4, height=300 * -(-len(pairs) // 4)), width="stretch",
                        key="erf_trained", config=chart_config())
        st.caption(trained_words(titles, untrained, trained) + " Each trained network sees the image with its own "
                   "preprocessing.")


live_section("erf", comparison)
