"""The atlas's counts against the frameworks' own records and the papers' published numbers;
the ResNeXt and MobileNet arithmetic from real modules, exactly."""

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import pretrained
from app.atlas import resnext, separable
from app.atlas.catalog import ARCHITECTURES, BY_KEY, imagenet_top1
from app.atlas.cost import count_cost
from app.atlas.figures import atlas_rows, cost_figure
from app.atlas.latency import measure_latency
from app.atlas.receptive import theoretical_receptive_field
from app.atlas.words import cheaper_and_better

TORCHVISION = [a for a in ARCHITECTURES if a.framework == "torchvision"]


@pytest.fixture(scope="module")
def costs():
    return {a.key: count_cost(a) for a in ARCHITECTURES}


@pytest.mark.parametrize("arch", TORCHVISION, ids=lambda a: a.key)
def test_counts_match_torchvision_s_records_of_its_weights(arch, costs):
    """Parameters exactly, multiply-adds within 1 % of the weights' metadata (its `_ops`, GFLOPS
    counted as multiply-adds)."""
    meta = torchvision.models.get_model_weights(arch.builder).DEFAULT.meta
    assert costs[arch.key].parameters == meta["num_params"]
    assert costs[arch.key].macs / 1e9 == pytest.approx(meta["_ops"], rel=0.01)


def test_resnet50_matches_the_published_figures(costs):
    """He et al.: 25.6 M parameters and about 4.1 G multiply-adds at 224²."""
    assert round(costs["resnet50"].parameters / 1e6, 1) == 25.6
    assert costs["resnet50"].macs / 1e9 == pytest.approx(4.1, abs=0.05)
    assert costs["resnet50"].weight_layers == 54  # 49 convolutions, 4 projection shortcuts, the classifier


@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if a.registry], ids=lambda a: a.key)
def test_the_registry_counts_what_the_atlas_counts(arch, costs):
    assert pretrained.get_spec(arch.registry).num_params == costs[arch.key].parameters


def test_top1_comes_from_the_weights_metadata_only():
    assert imagenet_top1(BY_KEY["resnet50"]) == pytest.approx(80.858)
    assert imagenet_top1(BY_KEY["mobilenet_v1"]) is None and imagenet_top1(BY_KEY["lenet5"]) is None


def test_the_sentence_compares_the_costliest_with_the_cheapest_as_accurate(costs):
    top1 = {a.key: imagenet_top1(a) for a in ARCHITECTURES}
    rated = [a for a in ARCHITECTURES if top1[a.key] is not None]
    costliest = max(rated, key=lambda a: costs[a.key].macs)
    cheapest = min((a for a in rated if top1[a.key] >= top1[costliest.key]), key=lambda a: costs[a.key].macs)
    sentence = cheaper_and_better(list(ARCHITECTURES), costs, top1)
    assert sentence.startswith(costliest.title) and cheapest.title in sentence
    assert f"{costs[costliest.key].macs / costs[cheapest.key].macs:.0f}× fewer multiply-adds" in sentence


def test_the_table_and_the_picture_hold_every_architecture(costs):
    top1 = {a.key: imagenet_top1(a) for a in ARCHITECTURES}
    rows = atlas_rows(list(ARCHITECTURES), costs, top1, {}, {}, {})
    assert [r["Model"] for r in rows] == [a.title for a in ARCHITECTURES]
    figure = cost_figure(list(ARCHITECTURES), costs, top1)
    plotted = {point[0] for trace in figure.data for point in trace.customdata}
    assert plotted == {a.key for a in ARCHITECTURES if top1[a.key] is not None}


@pytest.mark.parametrize("key, pixels", [("alexnet", 195), ("vgg16", 212), ("vit_b_16", None), ("mixer_b16", None)])
def test_receptive_fields_are_the_published_ones(key, pixels):
    """Araujo et al. (Distill 2019), Table 1: AlexNet 195 px, VGG-16 212 px; token mixers see it all."""
    assert theoretical_receptive_field(BY_KEY[key]) == pixels


def test_latency_is_measured_on_the_built_network():
    arch = BY_KEY["lenet5"]
    latency = measure_latency(arch.build().eval(), arch, 4, torch.device("cpu"), repeats=2)
    assert latency.batch == 4 and latency.seconds > 0 and latency.images_per_s == 4 / latency.seconds


def test_resnext_s_block_costs_what_the_course_says():
    """The course's figure: 256→64→64→256 has 69,632 weights; 32 paths of width 4, 70,144."""
    assert resnext.weights(resnext.bottleneck(256, 64)) == 69_632
    assert resnext.weights(resnext.Paths(256, 32, 4)) == 70_144 == resnext.weights(resnext.grouped(256, 32, 4))
    assert resnext.paths_formula(256, 32, 4).endswith("= 70,144")
    assert resnext.bottleneck_formula(256, 64).endswith("= 69,632")


def test_the_equal_cost_widths_are_table_2_s():
    """Xie et al., Table 2: cardinality and width pairs that keep a stage-2 block's cost."""
    assert {c: resnext.matching_width(c, 69_632) for c in (1, 2, 4, 8, 32)} == {1: 64, 2: 40, 4: 24, 8: 14, 32: 4}


def test_the_grouped_convolution_computes_the_paths():
    assert resnext.grouped_equals_paths(256, 8, 16) < 1e-5
    assert resnext.grouped_equals_paths(64, 4, 3, seed=3) < 1e-5


@pytest.mark.parametrize("alpha, size, macs_m, params_m", [
    (1.0, 224, 569, 4.2), (0.75, 224, 325, 2.6), (0.5, 224, 149, 1.3), (0.25, 224, 41, 0.5),
    (1.0, 192, 418, 4.2), (1.0, 160, 290, 4.2), (1.0, 128, 186, 4.2)])
def test_mobilenet_v1_matches_the_paper_s_tables_6_and_7(alpha, size, macs_m, params_m):
    with torch.device("meta"):
        model = separable.mobilenet_v1(alpha)
    rows = separable.layer_table(model, size)
    assert sum(r.macs for r in rows) / 1e6 == pytest.approx(macs_m, abs=1.0)
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(params_m, abs=0.05)


def test_mobilenet_v1_s_table_1_row_by_row():
    with torch.device("meta"):
        rows = separable.layer_table(separable.mobilenet_v1(), 224)
    assert len(rows) == 28
    first, second, third, last = rows[0], rows[1], rows[2], rows[-1]
    assert (first.kind, first.filter_shape, first.input_shape) == ("Conv / s2", "3 × 3 × 3 × 32", "224 × 224 × 3")
    assert (second.kind, second.filter_shape, second.input_shape) == ("Conv dw / s1", "3 × 3 × 32 dw", "112 × 112 × 32")
    assert (third.kind, third.filter_shape) == ("Conv / s1", "1 × 1 × 32 × 64")
    assert (last.kind, last.filter_shape, last.input_shape) == ("FC / s1", "1024 × 1000", "1 × 1 × 1024")
    assert sum(r.kind.startswith("Conv dw") for r in rows) == 13


@pytest.mark.parametrize("kernel, m, n, size", [(3, 32, 64, 112), (3, 512, 512, 14), (5, 16, 24, 28)])
def test_the_cost_formulas_are_what_torch_counts(kernel, m, n, size):
    """D_K²·M·N·D_F² and D_K²·M·D_F² + M·N·D_F², against a FLOP counter on real layers."""
    def counted(module):
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(torch.empty(1, m, size, size, device="meta"))
        return counter.get_total_flops() // 2

    with torch.device("meta"):
        standard = nn.Conv2d(m, n, kernel, padding=kernel // 2, bias=False)
        split = nn.Sequential(nn.Conv2d(m, m, kernel, padding=kernel // 2, groups=m, bias=False),
                              nn.Conv2d(m, n, 1, bias=False))
    assert counted(standard) == separable.standard_macs(kernel, m, n, size)
    assert counted(split) == separable.separable_macs(kernel, m, n, size)
    assert separable.separable_macs(kernel, m, n, size) / separable.standard_macs(kernel, m, n, size) == \
        pytest.approx(1 / n + 1 / kernel ** 2)


def test_both_kinds_of_layer_are_timed():
    timing = separable.time_layers(32, 32, 14, torch.device("cpu"), repeats=2)
    assert timing.standard_s > 0 and timing.separable_s > 0 and timing.depthwise_s > 0
    assert timing.depthwise_macs == 9 * 32 * 14 * 14
    assert timing.standard_macs == 9 * 32 * 32 * 14 * 14 and timing.separable_macs == 9 * 32 * 196 + 32 * 32 * 196
