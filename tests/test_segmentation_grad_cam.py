"""Seg-Grad-CAM against captum's LayerGradCam (its own hooks on the layer, the region's summed
scores as the output explained), for the U-Net at every level and for torchvision's networks
at their backbone's last map; and what an upsampling layer's output pixel reads."""

import numpy as np
import pytest
import torch

from app.segmentation.levels import level_names
from app.segmentation.seg_grad_cam import Region, unet_seg_grad_cam
from app.segmentation.unet import UNet


def captum_grad_cam(forward, layer, batch, cls, region):
    from captum.attr import LayerGradCam

    def region_score(x):
        return forward(x)[:, cls, region.top:region.bottom, region.left:region.right].sum(dim=(1, 2))

    return LayerGradCam(region_score, layer).attribute(batch, relu_attributions=True)[0, 0].detach()


def level_module(model: UNet, name: str) -> torch.nn.Module:
    if name == "bottleneck":
        return model.bottleneck
    part, number = name.split()
    return model.down[int(number) - 1] if part == "encoder" else model.up[len(model.up) - int(number)].conv


@pytest.mark.parametrize("skips", [True, False])
def test_the_unet_explanation_is_captums_at_every_level(skips):
    torch.manual_seed(0)
    model = UNet(widths=(4, 8, 16, 32), skips=skips).eval()
    batch = torch.randn(1, 1, 32, 32)
    region = Region(5, 9, 17, 20)
    for level in level_names(len(model.down)):
        ours = unet_seg_grad_cam(model, batch, level, 3, region)
        expected = captum_grad_cam(model, level_module(model, level), batch, 3, region)
        assert ours.shape == expected.shape
        torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6)
        assert ours.max() > 0  # something to compare: random weights still support the class somewhere


def test_a_shared_model_is_left_as_it_was():
    """Autograd runs from the input: the weights take no gradient and the model keeps no hooks."""
    torch.manual_seed(0)
    model = UNet(widths=(4, 8, 16)).eval().requires_grad_(False)
    unet_seg_grad_cam(model, torch.randn(1, 1, 16, 16), "bottleneck", 1, Region(0, 0, 8, 8))
    assert all(p.grad is None for p in model.parameters())
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in model.modules())


@pytest.mark.parametrize("name, layer", [("fcn_resnet50", "layer4"), ("lraspp_mobilenet_v3_large", "16")])
def test_a_voc_networks_explanation_is_captums_at_its_backbones_last_map(name, layer):
    import pretrained
    from app.segmentation.voc import voc_seg_grad_cam

    model = pretrained.build_model(pretrained.get_spec(name)).eval()
    batch = torch.randn(1, 3, 72, 96, generator=torch.Generator().manual_seed(1))
    region = Region(10, 20, 40, 70)
    ours = voc_seg_grad_cam(model, batch, 0, region)
    expected = captum_grad_cam(lambda x: model(x)["out"], dict(model.backbone.named_modules())[layer], batch, 0,
                               region)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6)
    assert ours.max() > 0


def test_a_region_is_clipped_into_the_map_and_never_empty():
    assert Region(-3, 5, 70, 5).clipped(64, 48) == Region(0, 5, 64, 6)
    assert Region(80, 90, 99, 99).clipped(64, 48) == Region(63, 47, 64, 48)


def test_a_transposed_convolution_pixel_reads_one_input_and_bilinear_four():
    from app.segmentation.upsampling import inputs_read

    torch.manual_seed(0)
    x = torch.randn(1, 8, 9, 10)
    transposed = torch.nn.ConvTranspose2d(8, 4, 2, stride=2)
    bilinear = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Conv2d(8, 4, 1))
    overlapping = torch.nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
    assert (inputs_read(transposed, x), inputs_read(bilinear, x), inputs_read(overlapping, x)) == (1, 4, 4)


def test_the_starting_box_holds_exactly_the_class_pixels():
    mask = np.zeros((12, 20), dtype=np.int64)
    mask[3, 5] = mask[7, 14] = mask[4, 9] = 2
    box = Region.around(mask, 2)
    inside = [(r, c) for r in range(12) for c in range(20) if mask[r, c] == 2]
    assert (box.top, box.left) == (min(r for r, _ in inside), min(c for _, c in inside))
    assert (box.bottom, box.right) == (max(r for r, _ in inside) + 1, max(c for _, c in inside) + 1)
    assert Region.around(mask, 5) == Region(0, 0, 12, 20)  # an absent class: the whole mask
