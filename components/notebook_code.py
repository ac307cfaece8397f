"""The Python a page offers for a notebook: the same figure from the `app` package, with the
page's current model, image and settings written in (the README's API)."""

from __future__ import annotations

import pretrained
from app.images import DecodedImage
from app.samples import SAMPLES


def image_code(image: DecodedImage) -> tuple[list[str], str]:
    """(imports, the line that decodes the current image): a bundled sample by its key; an
    upload or a camera shot by its file name (the student has the file)."""
    sample = next((key for key, s in SAMPLES.items() if s.title == image.name), None)
    if sample is not None:
        return (["from app.images import decode_image", "from app.samples import sample_bytes"],
                f"image = decode_image(sample_bytes({sample!r}), {image.name!r})")
    return (["from app.images import decode_image"],
            f"image = decode_image(open({image.name!r}, 'rb').read(), {image.name!r})  # your file")


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


def landscape_lines_code(key: str, device: str, size: int | None, seed: int, log_scale: bool) -> str:
    """The loss-landscape page's two lines for a shipped network (on the split it was trained with)."""
    return "\n".join([
        "from app.landscape.figures import line_figure",
        "from app.landscape.lines import subject_lines",
        "from app.landscape.subject import subject_from_fields",
        "from app.training.datasets import SOURCES, split",
        "from pretrained.landscape_models import load",
        "",
        f"trained = load({key!r})",
        f"data = split(SOURCES['Fashion-MNIST'].load(), 2000, seed=0, device={device!r})  # its training split",
        f"network = subject_from_fields({key!r}, trained.title, trained.config_fields, trained.final, trained.path, "
        "data)",
        f"lines = subject_lines(network, {size!r}, {seed!r})",
        f"left = line_figure(lines.along, lines.path_loss, lines.path_accuracy, 'From the initial to the final "
        f"weights', {{'initial': 0.0, 'final': 1.0}}, {log_scale!r})",
        f"right = line_figure(lines.around, lines.random_loss, lines.random_accuracy, 'Along a random "
        f"filter-normalised direction', {{'final': 0.0}}, {log_scale!r})",
        "left",
    ]) + "\n"
