"""The U-Net's paths, and the shipped U-Nets scoring their cards on the test scenes."""

import pytest
import torch

from app.segmentation.unet import UNet


def test_the_decoder_concatenates_the_encoder_maps_only_with_skips():
    torch.manual_seed(0)
    seen = {}
    for skips in (True, False):
        model = UNet(widths=(4, 8, 16), skips=skips).eval()
        model.up[0].conv.register_forward_pre_hook(lambda m, inputs, skips=skips: seen.__setitem__(skips, inputs[0]))
        assert model(torch.randn(2, 1, 32, 32)).shape == (2, 11, 32, 32)
    assert seen[True].shape == (2, 16, 16, 16) and seen[False].shape == (2, 8, 16, 16)  # skip + upsampled, or alone


def test_bilinear_upsampling_has_no_learned_kernel_of_its_own():
    up = UNet(widths=(4, 8, 16), upsampling="bilinear").up[0].upsample
    assert isinstance(up[0], torch.nn.Upsample) and up[1].kernel_size == (1, 1)


@pytest.mark.parametrize("key", ["unet", "unet_noskip", "unet_bilinear"])
def test_the_shipped_unets_score_their_cards_on_the_test_scenes(key):
    from app.segmentation.data import fashion_scenes
    from app.segmentation.evaluate import scores
    from app.segmentation.shipped import shipped_unet

    model, card = shipped_unet(key)
    found = scores(model, fashion_scenes("test"))
    assert found["miou"] == pytest.approx(card["miou"], abs=0.005)
    assert found["boundary_f"] == pytest.approx(card["boundary_f"], abs=0.005)


def test_skips_are_what_the_masks_need():
    """The course's lesson, on the shipped pair's cards: the U-Net with skips outlines the garments
    better than the same U-Net without them."""
    from app.segmentation.shipped import shipped_unet

    (_, with_skips), (_, without) = shipped_unet("unet"), shipped_unet("unet_noskip")
    assert with_skips["boundary_f"] > without["boundary_f"] and with_skips["miou"] > without["miou"]
