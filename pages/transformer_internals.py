"""Inside the Transformer: self-attention step by step, four families at one depth, DINO's features."""

import numpy as np
import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from app.figures.overlays import map_overlay_figure
from app.transformer.figures import grid_picture, matrix_picture, matrix_rows
from app.transformer.matched_depth import DEPTHS, concentration, region_overlap, where
from app.transformer.patch_features import cosine_similarity_to, feature_picture
from app.transformer.registers import OUTLIER_FACTOR, token_norms
from app.transformer.sentence import sentence_attention
from app.vit.figures import patch_grid_picture
from components.clicked_cell import clicked_cell
from components.drawn_figures import drawn
from components.figure_export import chart_config
from components.image_picker import current_image
from components.lazy_tabs import draw_open, lazy_tabs
from components.model_picker import choose_next, model_picker
from components.models import loaded_model, model_key
from components.transformer_input import choose_input
from components.transformer_work import attention_map, cnn_map, swin_map, walkthrough_of
from components.vit_capture import attention_of

st.title("Inside the Transformer")
st.caption("How self-attention computes, one step at a time; a CNN and three transformers on one image at the same "
           "depth; what DINO's features hold without labels.")

image = current_image()


def sentence_steps():
    head = st.radio("Head", [1, 2], horizontal=True, key="steps_sentence_head") - 1
    walk = sentence_attention(head)
    steps, words = walk.steps, list(walk.words)
    st.caption("Five word tokens, D = 4 numbers each, k = 2 heads of D_h = 2. The embedding and the projections are "
               "seeded random numbers, not learned: the arithmetic is the point, and it is the same for patches.")
    left, middle, right = st.columns(3)
    left.markdown("**1 · Word vectors** x ∈ ℝ^{5×4}")
    left.dataframe(matrix_rows(walk.embedding, words, "d"), hide_index=True)
    middle.markdown("**+ positions** (sinusoids) ∈ ℝ^{5×4}")
    middle.dataframe(matrix_rows(walk.position, words, "d"), hide_index=True)
    right.markdown("**= z** ∈ ℝ^{N×D}, N = 5, D = 4")
    right.dataframe(matrix_rows(steps.z, words, "d"), hide_index=True)

    left, right = st.columns([3, 2])
    left.markdown(f"**2 · U_qkv of head {head + 1}** ∈ ℝ^{{D×3D_h}} = ℝ^{{4×6}}: [q k v] = z·U_qkv + b")
    columns = [f"{part}{i + 1}" for part in "qkv" for i in range(steps.head_dim)]
    left.dataframe([{"": f"d{i + 1}", **dict(zip(columns, (round(float(x), 2) for x in row)))}
                    for i, row in enumerate(steps.u_qkv)], hide_index=True)
    qkv = np.concatenate([steps.q, steps.k, steps.v], axis=1)
    right.markdown("**3 · q, k, v** ∈ ℝ^{N×D_h} each")
    right.dataframe([{"": word, **dict(zip(columns, (round(float(x), 2) for x in row)))}
                     for word, row in zip(words, qkv)], hide_index=True)

    left, right = st.columns(2)
    left.markdown("**4 · Scores** q·kᵀ/√D_h ∈ ℝ^{N×N} (row: query, column: key)")
    left.dataframe(_named_square(steps.scores, words), hide_index=True)
    right.markdown("**5 · Attention** A = softmax of each row ∈ ℝ^{N×N}")
    right.dataframe(_named_square(steps.attention, words), hide_index=True)
    query = st.selectbox("Follow the word", range(len(words)), format_func=lambda i: words[i], index=3,
                         key="steps_sentence_word")
    key = int(np.argmax(steps.attention[query]))
    products = " + ".join(f"{a:.2f}·{b:.2f}" for a, b in zip(steps.q[query].tolist(), steps.k[key].tolist()))
    st.markdown(f"**{words[query]}** attends most to **{words[key]}**: its score is q·k/√{steps.head_dim} = "
                f"({products}) / {steps.head_dim ** 0.5:.2f} = {steps.scores[query, key]:.2f}, and after the softmax "
                f"over its row, {steps.attention[query, key]:.2f} of its attention.")

    left, middle, right = st.columns(3)
    left.markdown(f"**6 · A·v** of head {head + 1} ∈ ℝ^{{N×D_h}}")
    left.dataframe(matrix_rows(steps.head_output, words, "d"), hide_index=True)
    middle.markdown("**7 · Both heads side by side** ∈ ℝ^{N×k·D_h}")
    middle.dataframe(matrix_rows(steps.concatenated, words, "d"), hide_index=True)
    right.markdown("**8 · ·U_msa + b** (U_msa ∈ ℝ^{k·D_h×D}) = the output ∈ ℝ^{N×D}")
    right.dataframe(matrix_rows(steps.output, words, "d"), hide_index=True)
    st.caption(f"Head {head + 1}'s A·v fills columns {head * steps.head_dim + 1}–{(head + 1) * steps.head_dim} of "
               "step 7. The output has one vector per word again, each now a mixture of all the words' values.")


def _named_square(matrix, words: list[str]) -> list[dict[str, object]]:
    return [{"": word, **{other: round(float(x), 2) for other, x in zip(words, row)}}
            for word, row in zip(words, matrix)]


def image_steps():
    loaded = model_picker(("vit", "dino"), default="tiny_vit_fmnist")
    spec = loaded.spec
    source, size, rgb = choose_input(loaded, image)
    blocks = len(loaded.model.blocks)
    heads = loaded.model.blocks[0].attn.num_heads
    left, right = st.columns(2)
    layer = left.slider("Block", 1, blocks, 1, key=f"steps_layer_{spec.name}")
    head = right.slider("Head", 1, heads, 1, key=f"steps_head_{spec.name}") - 1
    walk, view = walkthrough_of(loaded, source, size, rgb, layer, head)
    steps = walk.steps
    click_key = f"steps_click_{spec.name}_{size}"
    row, col = clicked_cell(click_key, walk.grid)
    follow_cls = walk.prefix_tokens > 0 and st.toggle("Follow the CLS token instead of the clicked patch",
                                                     key="steps_follow_cls")
    token = 0 if follow_cls else walk.token_of_patch(row, col)
    name = walk.token_names[token]
    patch = None if token < walk.prefix_tokens else token - walk.prefix_tokens
    n, d, d_h, k = steps.z.shape[0], steps.z.shape[1], steps.head_dim, steps.heads
    p, pixels = walk.patches.shape
    picture, where_it_looks = st.columns(2)
    with picture:
        streamlit_image_coordinates(patch_grid_picture(view, walk.grid, (row, col)), key=click_key, width="stretch",
                                    cursor="crosshair")
        st.caption(f"{walk.grid[0]}×{walk.grid[1]} patches of {walk.patch_size} px; patch ({row}, {col}) is framed; "
                   f"click another. Followed: **{name}**, row {token + 1} of every N×… matrix below (yellow).")
    attention_row = steps.attention[token, walk.prefix_tokens:].float().reshape(walk.grid)
    where_it_looks.plotly_chart(map_overlay_figure(view, attention_row, 0.75, "Inferno",
                                                   (0.0, float(attention_row.max())),
                                                   title=f"Where {name} looks: block {layer}, head {head + 1}",
                                                   height=420, value_label="share", fade=True, tickformat=".1%"),
                                width="stretch", key="steps_where", config=chart_config())
    if walk.prefix_tokens:
        prefix_share = float(steps.attention[token, : walk.prefix_tokens].sum())
        names = ", ".join(walk.token_names[: walk.prefix_tokens])
        where_it_looks.caption(f"{prefix_share:.1%} of its attention goes to {names} (no place on the picture); "
                               "the map shows the rest.")

    shown = [
        ("1 · Patches, flattened", walk.patches, True, patch, f"x_p ∈ ℝ^{{P×(p²·C)}} = {p}×{pixels}"),
        ("2 · Patch embedding", walk.patch_embedding, True, patch, f"x_p·E + b ∈ ℝ^{{P×D}} = {p}×{d}"),
        ("3 · Position embedding", walk.position, True, token if len(walk.position) == n else patch,
         f"E_pos ∈ ℝ^{{{len(walk.position)}×D}}"),
        (f"4 · Tokens entering block {layer}", walk.block_input, True, token,
         f"z ∈ ℝ^{{N×D}} = {n}×{d}" + (" (patches + CLS + E_pos)" if layer == 1 else "")),
        (f"5 · U_qkv of head {head + 1}", steps.u_qkv, True, None, f"ℝ^{{D×3D_h}} = {d}×{3 * d_h}"),
        ("6 · q | k | v", np.concatenate([steps.q, steps.k, steps.v], axis=1), True, token,
         f"LN(z)·U_qkv + b: three {n}×{d_h}"),
        ("7 · Scores q·kᵀ/√D_h", steps.scores, True, token, f"ℝ^{{N×N}} = {n}×{n}"),
        ("8 · Attention A = softmax", steps.attention, False, token, "ℝ^{N×N}, rows sum to 1"),
        (f"9 · A·v of head {head + 1}", steps.head_output, True, token, f"ℝ^{{N×D_h}} = {n}×{d_h}"),
        (f"10 · All {k} heads side by side", steps.concatenated, True, token, f"ℝ^{{N×k·D_h}} = {n}×{k * d_h}"),
        ("11 · U_msa", steps.u_msa, True, None, f"ℝ^{{k·D_h×D}} = {k * d_h}×{d}"),
        ("12 · Output: ·U_msa + b", steps.output, True, token, f"ℝ^{{N×D}} = {n}×{d}"),
    ]
    # Drawn once per server for this input, block, head and token: twelve pictures cost a rerun 60 ms.
    pictures = drawn(("transformer", "steps", source, *model_key(loaded), size, layer, head, token),
                     lambda: [matrix_picture(matrix, signed, marked) for _, matrix, signed, marked, _ in shown])
    for start in range(0, len(shown), 4):
        for column, (title, _, _, _, shape), picture in zip(st.columns(4), shown[start: start + 4],
                                                            pictures[start: start + 4]):
            column.markdown(f"**{title}**")
            column.image(picture, width="stretch")
            column.caption(shape)
    st.caption("Red positive, blue negative on each matrix's own scale (attention: 0 to its largest value). Steps 1 "
               "and 2 have no row for the CLS token: it is a learned vector, not a patch.")
    difference = float((steps.output.float() - walk.library_output).abs().max())
    st.markdown(f"**Step 12 is what the block computes.** timm's own attention module (its fused kernel, which never "
                f"holds A) gives the same {n}×{d} output for this block: the largest difference is {difference:.1e}, "
                "float32 rounding.")
    values = [("z (step 4)", walk.block_input[token]), ("q", steps.q[token]), ("k", steps.k[token]),
              ("v", steps.v[token]), ("A·v", steps.head_output[token]), ("output", steps.output[token])]
    st.markdown(f"**{name}'s rows**, first 8 values of each")
    st.dataframe([{"step": label, **{f"{j + 1}": round(float(x), 3) for j, x in enumerate(vector[:8])},
                   "length": len(vector)} for label, vector in values], hide_index=True)
    top = np.argsort(steps.attention[token].numpy())[::-1][:5]
    favourites = ", ".join(f"{walk.token_names[i]} ({float(steps.attention[token, i]):.1%})" for i in top)
    st.caption(f"{name} attends most to: {favourites}; in {spec.title}, block {layer}, head {head + 1}.")


def self_attention():
    on = st.radio("On", ["The course's sentence", "The current image"], horizontal=True, key="steps_on")
    if on == "The course's sentence":
        sentence_steps()
    else:
        image_steps()


def family_figure(family_map) -> object:
    return map_overlay_figure(family_map.view, family_map.values, 0.7, "Inferno",
                              (0.0, float(family_map.values.max()) or 1.0), height=330, value_label="value",
                              fade=True, colorbar_below=True)


def families_drawn(models: list, percent: int) -> tuple[list, list, str, str]:
    """The four maps, their figures and the two comparisons, computed from the maps."""
    cnn, vit, dino, swin = models
    maps = [cnn_map(cnn, image, percent), attention_map(vit, image, percent, "ViT"),
            attention_map(dino, image, percent, "DINO"), swin_map(swin, image, percent)]
    concentrations = [concentration(m.values) for m in maps]
    lines = [f"**{m.family}**: its strongest tenth of positions holds {c.top_share:.0%} of its map; the peak is "
             f"at the {where(c.peak_fraction)}" for m, c in zip(maps, concentrations)]
    pairs = [(region_overlap(a.values, b.values), a.family, b.family)
             for i, a in enumerate(maps) for b in maps[i + 1:]]
    best, worst = max(pairs), min(pairs)
    overlap = (f"Overlap of the strongest fifth of each map, resampled to one grid: most between {best[1]} and "
               f"{best[2]} (IoU {best[0]:.2f}), least between {worst[1]} and {worst[2]} (IoU {worst[0]:.2f}). "
               "A CNN's and a Swin's maps are feature norms; a ViT's and DINO's are where the CLS token looks.")
    summary = "Where each response concentrates at this depth:\n\n- " + "\n- ".join(lines)
    return maps, [family_figure(m) for m in maps], summary, overlap


def four_families():
    left, right = st.columns([2, 1])
    with left:
        cnn = model_picker(("cnn",), default="efficientnet_lite0", label="CNN")
    percent = right.select_slider("Relative depth (%)", DEPTHS, 50, key="families_depth")
    models = [cnn, loaded_model("vit_b16"), loaded_model("dino_vit_s16"), loaded_model("swin_t")]
    maps, figures, summary, overlap = drawn(
        ("transformer", "families", image.sha256, percent, *(model_key(m) for m in models)),
        lambda: families_drawn(models, percent))
    untrained = [m.title for m in maps if not m.trained]
    if untrained:  # one banner over the row, so that the four maps stay side by side at one height
        st.error(f"**UNTRAINED WEIGHTS — {', '.join(untrained)}: random weights on this server.** Their maps are not "
                 "what the trained networks see; the comparison below is of what is on screen.",
                 icon=":material/warning:")
    for column, family_map, figure in zip(st.columns(4), maps, figures):
        with column:
            # "DINO ViT-S/16" names its family already; a shorter heading keeps the four maps level.
            named = (family_map.title if family_map.title.startswith(family_map.family)
                     else f"{family_map.family}: {family_map.title}")
            st.markdown(f"**{named}**" + ("" if family_map.trained else " :red[**untrained**]"))
            st.plotly_chart(figure, width="stretch", key=f"families_{family_map.family}", config=chart_config())
            st.caption(f"{family_map.what}; {family_map.reach}.")
    st.markdown(summary)
    st.caption(overlap)


def dino_features():
    loaded = model_picker(("vit", "dino"), default="tiny_vit_fmnist")
    spec = loaded.spec
    register_toggle(loaded)
    if spec.family != "dino":
        st.info(f"{spec.title} was trained with labels, not self-supervised as DINO: its features show what a "
                "classifier learned. DINO's own features need their downloaded weights (DINO or DINOv2).")
    source, size, rgb = choose_input(loaded, image)
    viewed = attention_of(loaded, source, size, rgb)
    capture, view = viewed.capture, viewed.view
    features = capture.features[capture.prefix_tokens:].numpy()
    masked = st.toggle("Foreground only (DINOv2's two steps: threshold the first component, then a PCA of the "
                       "foreground)", True, key="pca_masked")
    def pca_picture():
        pca = feature_picture(features, capture.grid, masked)
        return pca, grid_picture(pca.colours)

    # Two PCAs and a picture: drawn once per server for this input, model and choice.
    picture, colours = drawn(("transformer", "pca", source, *model_key(loaded), size, masked), pca_picture)
    click_key = f"pca_click_{spec.name}_{size}"
    row, col = clicked_cell(click_key, capture.grid)
    left, middle, right = st.columns(3)
    with left:
        streamlit_image_coordinates(patch_grid_picture(view, capture.grid, (row, col)), key=click_key,
                                    width="stretch", cursor="crosshair")
        st.caption(f"Click a patch: patch ({row}, {col}) is framed.")
    middle.image(colours, width="stretch")
    explained = ", ".join(f"{share:.0%}" for share in picture.shown.explained)
    count, patches = int(picture.mask.sum()), picture.mask.size
    middle.caption(f"The last block's patch features, {features.shape[1]} numbers each, on their first three principal "
                   f"components as red, green and blue ({explained} of the variance"
                   + (" of the foreground's features)." if masked else ").")
                   + (f" Foreground: {count} of {patches} patches ({count / patches:.0%}), the side of the first "
                      "component (all patches) whose patches lie nearer the centre; black: background." if masked
                      else ""))
    similarity = cosine_similarity_to(features, row * capture.grid[1] + col).reshape(capture.grid)
    right.plotly_chart(map_overlay_figure(view, similarity, 0.75, "RdBu_r", (-1.0, 1.0), height=380,
                                          value_label="cosine", signed=True, fade=True, colorbar_below=True,
                                          title=f"Features like patch ({row}, {col})'s"),
                       width="stretch", key="pca_similarity", config=chart_config())
    order = np.argsort(similarity.reshape(-1))[::-1][1:11]
    inside = int(picture.mask.reshape(-1)[order].sum())
    right.caption(f"Cosine similarity to patch ({row}, {col}). Its ten closest patches: mean similarity "
                  f"{similarity.reshape(-1)[order].mean():.2f}"
                  + (f", {inside} of them in the foreground." if masked else "."))
    register_view(capture, view)


def register_toggle(loaded):
    """DINOv2 with and without registers are two networks: the toggle swaps one for its twin."""
    spec = loaded.spec
    st.session_state["pca_registers"] = loaded.model.num_reg_tokens > 0  # follows the picker
    st.toggle("Register tokens", key="pca_registers", disabled=spec.register_twin is None,
              on_change=lambda: choose_next(("vit", "dino"), spec.register_twin),
              help="Switch between DINOv2 and the same network retrained with four register tokens."
              if spec.register_twin else f"{spec.title} has no twin with register tokens; DINOv2 ViT-S/14 has.")


def register_view(capture, view):
    norms = token_norms(capture)
    st.markdown("**Register tokens and high-norm patches**")
    left, right = st.columns(2)
    left.plotly_chart(map_overlay_figure(view, norms.patches, 0.7, "Viridis", height=380, value_label="norm",
                                         title="Norm of each patch token after the last block"),
                      width="stretch", key="pca_norms", config=chart_config())
    right.plotly_chart(map_overlay_figure(view, capture.patch_attention(capture.layers - 1).float().mean(0).numpy(),
                                          0.7, "Viridis", height=380, value_label="attention",
                                          title="The CLS token's attention, last block, mean of heads"),
                       width="stretch", key="pca_cls_attention", config=chart_config())
    largest, (row, col) = norms.largest
    count = int(norms.outliers.sum())
    prefix = ", ".join(f"{name} {value:.3g}" for name, value in norms.prefix)
    words = (f"Median patch norm {norms.median:.1f}; the largest, {largest:.1f} at patch ({row}, {col}), is "
             f"{largest / norms.median:.1f}× the median; {count} of {norms.patches.size} patches are above "
             f"{OUTLIER_FACTOR:g}× the median. Tokens before the patches: {prefix}.")
    if norms.cls_to_registers is not None and norms.registers:
        words += (f" The CLS token gives {norms.cls_to_registers:.0%} of its last-block attention to the "
                  f"{norms.registers} registers")
        words += f" and {norms.cls_to_outliers:.0%} to the high-norm patches." if count else "."
    elif norms.cls_to_outliers is not None and count:
        words += f" The CLS token gives {norms.cls_to_outliers:.0%} of its last-block attention to them."
    st.caption(words + " Darcet et al. (2024) report a few background patches with norms far above the rest in "
                       "large ViTs trained without registers (DINOv2 among them; not the original DINO), and "
                       "that adding register tokens removes them.")


tabs = lazy_tabs(["Self-attention, step by step", "Four families at one depth", "DINO's features"], "inside_tab",
                 {"Self-attention, step by step": ("steps_",), "Four families at one depth": ("families_",),
                  "DINO's features": ("pca_",)})
draw_open(tabs, [self_attention, four_families, dino_features])
