"""The Python a page offers for a notebook: the same figure from the `app` package, with the
page's current model, image and settings written in (the README's API)."""

from __future__ import annotations

import pretrained
from app.attribution.methods import SIGNED_METHODS
from app.images import DecodedImage
from app.notebook import constructor
from app.samples import SAMPLES
from app.video.decode import Clip
from app.video.samples import CLIP_SAMPLES


def image_code(image: DecodedImage) -> tuple[list[str], str]:
    """(imports, the line that decodes the current image): a bundled sample by its key; an
    upload or a camera shot by its file name (the student has the file)."""
    sample = next((key for key, s in SAMPLES.items() if s.title == image.name), None)
    if sample is not None:
        return (["from app.images import decode_image", "from app.samples import sample_bytes"],
                f"image = decode_image(sample_bytes({sample!r}), {image.name!r})")
    return (["from app.images import decode_image"],
            f"image = decode_image(open({image.name!r}, 'rb').read(), {image.name!r})  # your file")


def _load_line(loaded: pretrained.LoadedModel) -> str:
    return f"loaded = pretrained.load_model({loaded.spec.name!r}, device={str(loaded.device)!r})"


def _cell(imports: set[str], lines: list[str]) -> str:
    return "\n".join([*sorted(imports), "", *lines]) + "\n"


def transformer_view_code(loaded: pretrained.LoadedModel, source: tuple, size: int,
                          image: DecodedImage) -> tuple[set[str], list[str]]:
    """(imports, lines) that leave `view`, the picture a transformer page feeds (a Fashion-MNIST
    test image by its index, or the current image cropped at `size`), and `batch`, the same
    normalised."""
    lines = [f"preprocessing = at_input_size(loaded.spec.preprocessing, {size!r})"]
    if source[0] == "fashion-mnist":
        imports = {"from app.preprocess import at_input_size, normalize",
                   "from app.training.fashion_mnist import test_image_rgb"}
        lines.append(f"view = test_image_rgb({source[1]!r})")
    else:
        image_imports, image_line = image_code(image)
        imports = {"from app.preprocess import at_input_size, model_view, normalize", *image_imports}
        lines += [image_line, "view = model_view(image.rgb, preprocessing)"]
    return imports, [*lines, "batch = normalize(view, preprocessing)"]


def attribution_code(loaded: pretrained.LoadedModel, image: DecodedImage, target: int, class_name: str,
                     method: str, settings: tuple, opacity: float) -> str:
    """The attribution page's map of `method` for class `target`; `settings` are the slow
    methods' (steps, images per pass) or (window, stride)."""
    image_imports, image_line = image_code(image)
    if method in ("Grad-CAM", "Saliency"):
        function, call = "gradient_maps", f"gradient_maps(loaded.model, loaded.spec.cam_layer, batch, target)[{method!r}]"
    else:
        function = "integrated_gradients" if method == "Integrated Gradients" else "occlusion"
        call = f"{function}(loaded.model, batch, target, {settings[0]!r}, {settings[1]!r})"
    imports = {"import pretrained", "from app.attribution.figures import attribution_figure",
               f"from app.attribution.methods import {function}", "from app.preprocess import model_view, normalize",
               *image_imports}
    return _cell(imports, [
        _load_line(loaded),
        image_line,
        "view = model_view(image.rgb, loaded.spec.preprocessing)",
        "batch = normalize(view, loaded.spec.preprocessing)",
        f"target = {target!r}  # {class_name}",
        f"attribution = {call}",
        f"attribution_figure(view, attribution, {method in SIGNED_METHODS!r}, {opacity!r})",
    ])


def vit_heads_code(loaded: pretrained.LoadedModel, source: tuple, size: int, image: DecodedImage, keep_half: bool,
                   layer: int, smooth: bool, mass: float | None) -> str:
    """The ViT page's heads mosaic of `layer` (counted from 1), with DINO's mask at `mass` if set."""
    view_imports, view_lines = transformer_view_code(loaded, source, size, image)
    imports = {"import pretrained", "from app.cnn.figures import mosaic_figure", "from app.vit.capture import capture_attention", "from app.vit.figures import head_maps_mosaic",
               *view_imports}
    keep = ", torch.float16" if keep_half else ""  # as the page keeps a large capture
    if keep_half:
        imports.add("import torch")
    masks = "None"
    if mass is not None:
        imports.add("from app.vit.maps import mass_threshold_mask")
        masks = f"mass_threshold_mask(maps, {mass!r})"
    return _cell(imports, [
        _load_line(loaded),
        *view_lines,
        f"capture = capture_attention(loaded.model, batch{keep})",
        f"maps = capture.patch_attention({layer - 1!r})",
        f"mosaic_figure(head_maps_mosaic(view, maps, smooth={smooth!r}, masks={masks}), tile_name='head', "
        "height=560)",
    ])


def swin_attention_code(loaded: pretrained.LoadedModel, source: tuple, size: int, image: DecodedImage, stage: int,
                        block: int, shifted: bool, token: tuple[int, int], colormap: str) -> str:
    """The Swin page's attention of one token in `block` of `stage` (both counted from 0)."""
    view_imports, view_lines = transformer_view_code(loaded, source, size, image)
    imports = {"import pretrained", "from app.cnn.figures import mosaic_figure",
               "from app.swin.capture import capture_swin", "from app.swin.figures import window_attention_mosaic",
               *view_imports}
    kind = "shifted windows, masked keys grey" if shifted else "regular windows"
    return _cell(imports, [
        _load_line(loaded),
        *view_lines,
        "capture = capture_swin(loaded.model, batch)",
        f"token = {token!r}  # (row, column) on stage {stage + 1}'s map",
        f"maps, hidden, to_padding = capture.block({stage!r}, {block!r}).token_attention(*token)",
        f"mosaic_figure(window_attention_mosaic(view, maps, hidden, token, {colormap!r}), "
        f"title={f'Block {block + 1}: {kind}'!r}, tile_name='head', height=420)",
    ])


def channel_mosaic_code(loaded: pretrained.LoadedModel, image: DecodedImage, layer: str, order_by: str, top: int,
                        colormap: str, shared: bool) -> str:
    """The feature-map page's mosaic of the first `top` channels of `layer`."""
    image_imports, image_line = image_code(image)
    imports = sorted({"import pretrained", "from app.cnn.capture import FeatureExtractor, capture_activations",
                      "from app.cnn.figures import mosaic_figure", "from app.cnn.layer_stats import channel_order",
                      "from app.figures.mosaic import channel_mosaic",
                      "from app.preprocess import model_view, normalize", *image_imports})
    return "\n".join([
        *imports, "",
        f"loaded = pretrained.load_model({loaded.spec.name!r}, device={str(loaded.device)!r})",
        "spec = loaded.spec",
        image_line,
        "batch = normalize(model_view(image.rgb, spec.preprocessing), spec.preprocessing)",
        "extractor = FeatureExtractor(loaded.model, spec.layers, spec.framework, spec.preprocessing.input_size,",
        "                             with_logits=spec.has_classifier)",
        f"activation = capture_activations(extractor, batch).activations[{layer!r}]",
        f"mosaic_figure(channel_mosaic(activation, channel_order(activation, {order_by!r})[:{top}], {colormap!r}, "
        f"{shared!r}))",
    ]) + "\n"


def top_five_code(loaded: pretrained.LoadedModel, image: DecodedImage) -> str:
    """The Home page's top-5 bar chart."""
    image_imports, image_line = image_code(image)
    imports = sorted({"import pretrained", "from app.figures.prediction_chart import top_k_bar_chart",
                      "from app.predictions import classify", "from app.preprocess import preprocess", *image_imports})
    return "\n".join([
        *imports, "",
        f"loaded = pretrained.load_model({loaded.spec.name!r}, device={str(loaded.device)!r})",
        image_line,
        "batch = preprocess(image.rgb, loaded.spec.preprocessing)",
        "top_k_bar_chart(classify(loaded.model, batch, pretrained.class_names(loaded.spec)))",
    ]) + "\n"


def _shipped_network(key: str, device: str) -> tuple[set[str], list[str]]:
    """(imports, lines) that leave `network`, a shipped landscape network on the split it was
    trained with."""
    return ({"from app.landscape.subject import subject_from_fields", "from app.training.datasets import SOURCES, split",
             "from pretrained.landscape_models import load"}, [
        f"trained = load({key!r})",
        f"data = split(SOURCES['Fashion-MNIST'].load(), 2000, seed=0, device={device!r})  # its training split",
        f"network = subject_from_fields({key!r}, trained.title, trained.config_fields, trained.final, trained.path, "
        "data)",
    ])


def landscape_lines_code(key: str, device: str, size: int | None, seed: int, log_scale: bool) -> str:
    """The loss-landscape page's two lines for a shipped network."""
    imports, lines = _shipped_network(key, device)
    return _cell(imports | {"from app.landscape.figures import line_figure",
                            "from app.landscape.lines import subject_lines"}, [
        *lines,
        f"lines = subject_lines(network, {size!r}, {seed!r})",
        f"left = line_figure(lines.along, lines.path_loss, lines.path_accuracy, 'From the initial to the final "
        f"weights', {{'initial': 0.0, 'final': 1.0}}, {log_scale!r})",
        f"right = line_figure(lines.around, lines.random_loss, lines.random_accuracy, 'Along a random "
        f"filter-normalised direction', {{'final': 0.0}}, {log_scale!r})",
        "left",
    ])


def landscape_plane_code(key: str, device: str, size: int | None, directions: str, seed: int, resolution: int,
                         span: float, metric: str, log_scale: bool) -> str:
    """The loss-landscape page's contour of a shipped network's plane."""
    imports, lines = _shipped_network(key, device)
    return _cell(imports | {"from app.landscape.figures import contour_figure",
                            "from app.landscape.plane import plane_surface"}, [
        *lines,
        f"surface, plane = plane_surface(network, {directions!r}, {seed!r}, {resolution!r}, {span!r}, {size!r})",
        f"contour_figure(surface, {metric!r}, {log_scale!r}, path=plane.coordinates if plane else None)",
    ])


def training_curves_code(snapshots: list, labels: list[str], smoothing: float, device: str) -> str:
    """The training page's curves: every run trained again from its settings and seed, with the
    same split of the same data (seeded training gives the same curves on the same device)."""
    imports = {"from app.training.datasets import SOURCES, split", "from app.training.figures import curves_figure",
               "from app.training.runs import trained_run"}
    runs = []
    for snapshot in snapshots:
        config, needed = constructor(snapshot.config)
        imports |= needed
        data = snapshot.data
        runs.append(f"    trained_run({snapshot.label!r}, {config},\n"
                    f"                split(SOURCES[{data.dataset!r}].load(), {data.validation_images!r}, "
                    f"{snapshot.config.seed!r}, {data.train_images!r}, {device!r})),")
    return _cell(imports, ["runs = [", *runs, "]", f"curves_figure(runs, {labels!r}, {smoothing!r})"])


def erf_code(image: DecodedImage, samples: list[str], stage: int) -> str:
    """The receptive-field page's comparison of the six untrained networks at `stage` (from 0),
    over the image and the bundled `samples`."""
    image_imports, image_line = image_code(image)
    pictures = ", ".join(["image", *(f"decode_image(sample_bytes({key!r}), {SAMPLES[key].title!r})"
                                     for key in samples)])
    return _cell({"import pretrained", "import torch", "from app.atlas.erf import erf_figure, module_erf",
                  "from app.atlas.erf_subjects import SUBJECTS, seeded",
                  "from app.atlas.stage_fields import centre_unit_boxes", "from app.images import decode_image",
                  "from app.preprocess import preprocess", "from app.samples import sample_bytes", *image_imports}, [
        image_line,
        f"images = [{pictures}]",
        "preprocessing = pretrained.get_spec('resnet50').preprocessing",
        "batch = torch.cat([preprocess(picture.rgb, preprocessing) for picture in images])",
        f"stage = {stage!r}  # counted from 0",
        "maps = {s.title: module_erf(seeded(s), s.stages[stage], batch, s.layout) for s in SUBJECTS}",
        "boxes = {s.title: centre_unit_boxes(s)[stage] for s in SUBJECTS}",
        "erf_figure(maps, {title: box for title, box in boxes.items() if box is not None})",
    ])


def se_gates_code(loaded: pretrained.LoadedModel, image: DecodedImage) -> str:
    """The channel-attention page's gates of every squeeze-and-excitation block."""
    image_imports, image_line = image_code(image)
    return _cell({"import pretrained", "from app.atlas.se import gated_blocks, gates_figure",
                  "from app.preprocess import preprocess", *image_imports}, [
        _load_line(loaded),
        image_line,
        "blocks = gated_blocks(loaded.model, preprocess(image.rgb, loaded.spec.preprocessing))",
        "gates_figure(blocks)",
    ])


def atlas_code() -> str:
    """The atlas's accuracy against multiply-adds: every network counted on the meta device."""
    return _cell({"from app.atlas.catalog import ARCHITECTURES, imagenet_top1", "from app.atlas.cost import count_cost",
                  "from app.atlas.figures import cost_figure"}, [
        "costs = {arch.key: count_cost(arch) for arch in ARCHITECTURES}",
        "top1 = {arch.key: imagenet_top1(arch) for arch in ARCHITECTURES}",
        "cost_figure(list(ARCHITECTURES), costs, top1, None)",
    ])


def clip_code(clip: Clip) -> tuple[list[str], str]:
    """(imports, the line that makes the current clip): a sample by its key, an upload by its file
    name (the student has the file)."""
    sample = next((key for key, title in CLIP_SAMPLES.items() if title == clip.name), None)
    if sample is not None:
        return ["from app.video.samples import sample_clip"], f"clip = sample_clip({sample!r})"
    return (["from app.video.decode import decode_clip"],
            f"clip = decode_clip(open({clip.name!r}, 'rb').read(), {clip.name!r})  # your file")


def space_time_cam_code(loaded: pretrained.LoadedModel, clip: Clip, frames: int, layer: str, target: int) -> str:
    """The video page's Grad-CAM of class `target` at `layer` over the clip's frames."""
    clip_imports, clip_line = clip_code(clip)
    spec = loaded.spec
    imports = {"import pretrained", "from app.figures.plot_images import labelled_tiles",
               "from app.video.action_figures import cam_frames",
               "from app.video.network_input import clip_batch, clip_view",
               "from app.video.space_time import SpaceTimeExtractor",
               "from app.video.space_time_cam import over_frames, space_time_grad_cam", *clip_imports}
    size = spec.preprocessing.input_size
    return _cell(imports, [
        _load_line(loaded), clip_line,
        f"view = clip_view(clip.frames, loaded.spec.preprocessing, {frames})",
        "extractor = SpaceTimeExtractor(loaded.model, loaded.spec.architecture, loaded.spec.layers, "
        f"{frames}, {size})",
        "batch = clip_batch(view, loaded.spec.preprocessing)",
        f"cam = over_frames(space_time_grad_cam(extractor, batch, {layer!r}, {target!r}), {frames}, {size})",
        f"labelled_tiles(cam_frames(view, cam), [str(i + 1) for i in range({frames})], cols=8)",
    ])
