"""CBAM's spatial gate, taken apart, against timm's own module."""

import torch

from app.atlas.spatial_attention import seeded_spatial_attention, spatial_gate, spatial_gate_figure


def test_the_gate_taken_apart_is_the_modules_own():
    torch.manual_seed(0)
    features = torch.randn(16, 14, 14).relu()
    module = seeded_spatial_attention()
    found = spatial_gate(features, module)
    with torch.no_grad():
        gated = module(features[None])[0]  # timm's forward: x * sigmoid(conv([mean, max]))
    torch.testing.assert_close(features * found.gate, gated)
    assert torch.equal(found.maximum, features.max(dim=0).values)
    assert torch.allclose(found.average, features.sum(dim=0) / 16)
    assert found.gate.min() >= 0 and found.gate.max() <= 1 and found.gate.std() > 0


def test_the_random_weights_are_seeded_and_leave_the_generator_alone():
    state = torch.random.get_rng_state()
    first, second = seeded_spatial_attention(), seeded_spatial_attention()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(first.conv.conv.weight, second.conv.conv.weight)


def test_the_figure_draws_four_titled_pictures():
    torch.manual_seed(0)
    features = torch.randn(8, 7, 7)
    found = spatial_gate(features, seeded_spatial_attention())
    figure = spatial_gate_figure(found, features * found.gate)
    assert [a.text for a in figure.layout.annotations] == ["channel average", "channel maximum", "gate (0 to 1)",
                                                            "average after the gate"]
    assert sum(trace.type == "image" for trace in figure.data) == 4
