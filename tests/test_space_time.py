"""A Kinetics network on a clip: the space-time receptive fields traced from the graph against a
brute-force gradient support, Grad-CAM in space and time against captum's LayerGradCam, and the
maps of the attention networks turned into the CNNs' layout by the networks' own token order."""

import numpy as np
import pytest
import torch
from captum.attr import LayerGradCam
from torch import nn

import pretrained
from app.video.space_time import SpaceTimeExtractor, _as_cthw
from app.video.space_time_cam import over_frames, space_time_grad_cam
from tests.positive_weights import all_positive


class SmallVideoNet(nn.Module):
    """Strides, dilation, padding and a pool that differ between time and space."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv3d(3, 4, (3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2))
        self.pool = nn.MaxPool3d((2, 3, 3), stride=2, padding=(0, 1, 1))
        self.conv2 = nn.Conv3d(4, 4, 3, padding=(2, 1, 1), dilation=(2, 1, 1))
        self.conv3 = nn.Conv3d(4, 8, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.conv3(torch.relu(self.conv2(self.pool(torch.relu(self.conv1(x))))))
        return self.fc(x.mean(dim=(2, 3, 4)))


def _support(extractor, layer, frames, size, unit=None):
    """((t0, t1), (y0, y1), (x0, x1)) of the input positions with a non-zero gradient for one unit."""
    clip = torch.ones(1, 3, frames, size, size, requires_grad=True)
    output = extractor.graph_module(clip)[layer]
    maps = extractor.maps_of(output[0])
    t, row, col = unit or (maps.shape[1] // 2, maps.shape[2] // 2, maps.shape[3] // 2)
    maps[:, t, row, col].sum().backward()  # all channels: concatenated branches differ
    seen = clip.grad[0].abs().sum(dim=0) > 0  # (T, S, S)
    spans = []
    for axis in range(3):
        others = tuple(a for a in range(3) if a != axis)
        hits = torch.nonzero(seen.any(dim=others[1]).any(dim=others[0])).flatten()
        spans.append((int(hits[0]), int(hits[-1]) + 1))
    return (t, row, col), tuple(spans)


def test_a_small_network_fields_equal_the_gradient_support_inside_the_clip():
    model = all_positive(SmallVideoNet())
    extractor = SpaceTimeExtractor(model, "small", ["conv1", "pool", "conv2", "conv3"], 24, 96)
    expected_time = {"conv1": 3, "pool": 4, "conv2": 4 + 2 * 2 * 2, "conv3": 12}
    for layer in ("conv1", "pool", "conv2", "conv3"):
        unit, support = _support(extractor, layer, 24, 96)
        field = extractor.layer(layer).field
        assert field.time.size == expected_time[layer], layer
        assert field.box(*unit, frames=24, size=96) == support, layer
    # A unit at the corner: its field passes the border, and only the inside is read.
    unit, support = _support(extractor, "conv3", 24, 96, unit=(0, 0, 0))
    assert support[0][0] == support[1][0] == support[2][0] == 0
    assert extractor.layer("conv3").field.box(*unit, frames=24, size=96) == support


@pytest.mark.parametrize("name, layers, frames, size", [
    ("r3d_18", ["stem", "layer1", "layer2"], 16, 96),
    ("r2plus1d_18", ["stem", "layer1", "layer3"], 16, 96),  # (1×3×3 then 3×1×1) factorised filters
    # Separable convolutions and 3D max pools; its head pools 2×7×7 after the average pools that
    # stand in for its max pools, so the clip is full size.
    ("s3d", ["features.0", "features.3", "features.6"], 32, 224),
])
def test_kinetics_network_fields_equal_the_gradient_support(name, layers, frames, size):
    spec = pretrained.get_spec(name)
    model = all_positive(pretrained.build_model(spec))
    extractor = SpaceTimeExtractor(model, spec.architecture, layers, frames, size)
    for layer in layers:
        unit, support = _support(extractor, layer, frames, size)
        assert extractor.layer(layer).field.box(*unit, frames=frames, size=size) == support, layer


def test_attention_networks_have_no_traced_field_and_keep_their_maps():
    spec = pretrained.get_spec("swin3d_t")
    extractor = SpaceTimeExtractor(pretrained.build_model(spec).eval(), "swin3d_t", ["features.0"], 4, 64)
    assert extractor.layer("features.0").field is None
    clip = torch.randn(1, 3, 4, 64, 64)
    capture = extractor.capture(clip)
    with torch.inference_mode():  # Swin3D's patch embedding: (B, T, H, W, C), channels last
        direct = extractor.model.features[0](extractor.model.patch_embed(clip))
    torch.testing.assert_close(capture.maps["features.0"], direct[0].permute(3, 0, 1, 2))


def test_mvit_tokens_are_read_back_in_the_order_the_network_flattens_them():
    maps = torch.randn(96, 8, 7, 7)
    # torchvision's MViT: x.flatten(2).transpose(1, 2), then the class token in front.
    tokens = torch.cat([torch.zeros(1, 96), maps[None].flatten(2).transpose(1, 2)[0]])
    torch.testing.assert_close(_as_cthw(tokens, "mvit_v2_s", 8), maps)


def _cam_oracle(model, module, clip, target):
    return LayerGradCam(model, module).attribute(clip, target=target, relu_attributions=True)[0, 0]


def test_grad_cam_equals_captum_on_a_small_network():
    torch.manual_seed(0)
    model = SmallVideoNet().eval().requires_grad_(False)
    extractor = SpaceTimeExtractor(model, "small", ["conv2"], 8, 48)
    clip = torch.randn(1, 3, 8, 48, 48)
    for target in range(5):
        cam = space_time_grad_cam(extractor, clip, "conv2", target)
        torch.testing.assert_close(cam, _cam_oracle(model, model.conv2, clip, target))


def test_grad_cam_equals_captum_on_r3d():
    spec = pretrained.get_spec("r3d_18")
    model = pretrained.build_model(spec).eval().requires_grad_(False)
    extractor = SpaceTimeExtractor(model, spec.architecture, ["layer3", "layer4"], 8, 64)
    clip = torch.randn(1, 3, 8, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        target = int(model(clip).argmax())
    cam = space_time_grad_cam(extractor, clip, "layer3", target)
    assert cam.shape == (2, 8, 8) and cam.max() > 0  # 8 frames halved twice, 64 px four times
    torch.testing.assert_close(cam, _cam_oracle(model, model.layer3, clip, target), rtol=1e-4, atol=1e-6)


def test_grad_cam_is_spread_over_every_frame():
    cam = torch.zeros(2, 2, 2)
    cam[1, 1, 1] = 1.0
    spread = over_frames(cam, 16, 64)
    assert spread.shape == (16, 64, 64)
    # The later half of the clip and the lower right of each frame hold the map.
    assert spread[8:, 32:, 32:].sum() > 10 * spread[:8, :32, :32].sum()
    np.testing.assert_allclose(spread[-1, -1, -1], 1.0)
