"""The registry's entries against the frameworks' own metadata and builds."""

import dataclasses
import hashlib

import numpy as np
import pytest
import timm
import torch
import torchvision
from timm.data import create_transform, resolve_data_config
from torchvision.models import get_model_weights

import pretrained
from app.images import decode_image
from app.preprocess import preprocess
from app.samples import sample_bytes
from app.video.network_input import clip_batch, clip_view
from pretrained.registry import register_model

EXPECTED = {
    "alexnet", "vgg16", "resnet50", "wide_resnet50_2", "googlenet", "resnext50_32x4d",
    "densenet121", "mobilenet_v2", "mobilenet_v3_large", "convnext_tiny", "efficientnet_lite0", "convmixer_1024_20",
    "mixer_b16", "cvt_13", "vit_b16", "deit_s16", "dino_vit_s16", "dino_vit_b16", "dinov2_vit_s14",
    "dinov2_vit_s14_reg", "swin_t", "tiny_vit_fmnist", "tiny_swin_fmnist",
    "fcn_resnet50", "deeplabv3_resnet50", "lraspp_mobilenet_v3_large",
    "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v2_s", "swin3d_t", "raft_small", "detr_resnet50",
}
SPECS = pretrained.list_specs()


def test_the_zoo_has_every_requested_model():
    assert {s.name for s in SPECS} == EXPECTED
    assert {s.family for s in SPECS} == {"cnn", "mlp", "hybrid", "vit", "dino", "swin", "segmentation",
                                              "video", "flow", "detection"}


def test_register_twins_point_at_each_other_and_differ_by_the_registers_alone():
    twins = [s for s in SPECS if s.register_twin]
    assert {s.name for s in twins} == {"dinov2_vit_s14", "dinov2_vit_s14_reg"}
    for spec in twins:
        twin = pretrained.get_spec(spec.register_twin)
        assert twin.register_twin == spec.name and twin.preprocessing == spec.preprocessing
        with_registers, without = sorted((spec, twin), key=lambda s: -s.num_params)
        # Four register tokens of D = 384; the position table loses the CLS token's row (1,370 → 1,369).
        assert with_registers.num_params - without.num_params == 4 * 384 - 384


def test_a_duplicate_name_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_model(pretrained.get_spec("resnet50"))


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="resnet50"):
        pretrained.get_spec("resnet5")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_entry_builds_without_weights(spec):
    model = pretrained.build_model(spec)
    assert sum(p.numel() for p in model.parameters()) == spec.num_params
    modules = dict(model.named_modules())
    if spec.family == "cnn":
        assert spec.cam_layer in modules
    elif spec.family != "mlp":  # transformer layers are modules; CNN and Mixer layers may be fx nodes,
        # checked by the capture tests
        missing = [layer for layer in spec.layers if layer not in modules]
        assert not missing, f"layers not in {spec.name}: {missing}"
    size, channels = spec.preprocessing.input_size, spec.preprocessing.channels
    if spec.family == "segmentation":
        size = 96  # any size: a class for every pixel of it
    if spec.family == "flow":
        with torch.inference_mode():
            flows = model.eval()(torch.zeros(1, 3, 128, 160), torch.zeros(1, 3, 128, 160), num_flow_updates=2)
        assert len(flows) == 2 and flows[-1].shape == (1, 2, 128, 160)
        return
    if spec.family == "detection":  # any size: a class (or none) and a box for each of 100 object queries
        with torch.inference_mode():
            out = model.eval()(pixel_values=torch.zeros(1, 3, 128, 160))
        assert out.logits.shape == (1, 100, len(pretrained.class_names(spec)) + 1) and out.pred_boxes.shape[-1] == 4
        return
    # A video network takes a clip: (batch, channels, frames, height, width).
    clip = (min(spec.preprocessing.frames, 16),) if spec.family == "video" else ()
    with torch.inference_mode():
        out = model.eval()(torch.zeros(1, channels, *clip, size, size))
    if spec.framework == "transformers":  # CvT: transformers' output object
        out = out.logits
    names = pretrained.class_names(spec)
    if spec.family == "segmentation":
        assert out["out"].shape == (1, len(names), size, size) and len(names) == 21
    elif names is None:  # DINO: no classifier, the output is the CLS embedding
        assert spec.family == "dino" and out.shape[-1] == model.num_features
    else:
        assert out.shape == (1, len(names)) and len(names) in (10, 400, 1000)


def _cat_tensor():
    return torch.tensor(decode_image(sample_bytes("cat")).rgb).permute(2, 0, 1)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.framework == "torchvision" and s.family not in ("video", "flow")],
                         ids=lambda s: s.name)
def test_torchvision_preprocessing_matches_the_weights_transform(spec):
    weights = get_model_weights(spec.architecture).DEFAULT
    assert spec.weights.url == weights.url
    expected = weights.transforms()(_cat_tensor()).unsqueeze(0)
    torch.testing.assert_close(preprocess(decode_image(sample_bytes("cat")).rgb, spec.preprocessing), expected)


# The project's own models are trained with their own preprocessing (see their cards).
@pytest.mark.parametrize("spec", [s for s in SPECS if s.framework == "timm" and s.labels != "fashion-mnist"],
                         ids=lambda s: s.name)
def test_timm_preprocessing_matches_timm_eval_transform(spec):
    with torch.device("meta"):
        model = timm.create_model(spec.architecture)
    size = spec.preprocessing.input_size  # DINOv2's 518 px shown from 224, as its crop_pct of 1 gives it
    config = resolve_data_config({"input_size": (3, size, size)}, model=model)
    resize, crop, _to_tensor, normalize = create_transform(**config).transforms
    expected = normalize(crop(resize(_cat_tensor())).float() / 255).unsqueeze(0)
    actual = preprocess(decode_image(sample_bytes("cat")).rgb, spec.preprocessing)
    torch.testing.assert_close(actual, expected)


@pytest.mark.parametrize("spec", pretrained.list_specs("video"), ids=lambda s: s.name)
def test_video_preprocessing_matches_the_weights_transform(spec):
    """Every frame resized (to a fixed height × width for the ResNets, without antialiasing),
    cropped and normalised as torchvision's VideoClassification transform does."""
    weights = get_model_weights(spec.architecture).DEFAULT
    frames = np.random.default_rng(0).integers(0, 256, (5, 180, 320, 3), dtype=np.uint8)
    expected = weights.transforms()(torch.from_numpy(frames).permute(0, 3, 1, 2)).unsqueeze(0)
    actual = clip_batch(clip_view(frames, spec.preprocessing, len(frames)), spec.preprocessing)
    torch.testing.assert_close(actual, expected)
    assert spec.preprocessing.frames == {"s3d": 128, "swin3d_t": 32}.get(spec.name, 16)


def test_kinetics_class_names_are_offline_and_complete():
    names = pretrained.class_names(pretrained.get_spec("r3d_18"))
    assert len(names) == 400 and names[0] == "abseiling" and "juggling balls" in names


def test_torchvision_file_names_carry_the_published_hash_prefix():
    for spec in SPECS:
        if spec.framework == "torchvision":
            assert spec.weights.filename in spec.weights.url
            assert f"-{spec.weights.sha256}." in spec.weights.filename
            assert torchvision.models.get_model_weights(spec.architecture).DEFAULT.meta["num_params"] == spec.num_params


def test_imagenet_class_names_are_offline_and_complete():
    names = pretrained.class_names(pretrained.get_spec("resnet50"))
    assert len(names) == 1000 and names[281] == "tabby" and names[967] == "espresso"
    assert pretrained.class_names(pretrained.get_spec("dino_vit_s16")) is None


def test_a_cvt_checkpoint_without_batch_norm_counters_loads_strictly(tmp_path, monkeypatch):
    """The published CvT-13 file is a pickle of tensors (read with weights_only) whose batch norms
    may lack their step counters; the registry's converter lets the strict load through."""
    spec = pretrained.get_spec("cvt_13")
    published = {key: tensor + 0.5 for key, tensor in pretrained.build_model(spec).state_dict().items()
                 if not key.endswith("num_batches_tracked")}
    path = tmp_path / spec.weights.filename
    torch.save(published, path)
    monkeypatch.setenv("VISION_EXPLORER_WEIGHTS", str(tmp_path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = pretrained.load_model(dataclasses.replace(spec, weights=dataclasses.replace(spec.weights, sha256=digest)))
    assert loaded.weights.trained, loaded.weights.problem
    for key, tensor in loaded.model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            assert tensor.item() == 0
        else:
            torch.testing.assert_close(tensor, published[key], rtol=0, atol=0)
