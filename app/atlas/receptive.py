"""How far a unit of an architecture's last feature map can see, by the usual arithmetic on its
traced graph (app.cnn.receptive_field, the feature-map page's), on the meta device."""

from __future__ import annotations

import json

import torch

from app.atlas.catalog import BY_KEY, Architecture
from app.atlas.fresh_interpreter import json_lines
from app.cnn.receptive_field import receptive_fields
from app.serving.fx_threads import isolate_traces

isolate_traces()  # this module traces models with torch.fx while other threads run them


def theoretical_receptive_field(arch: Architecture) -> int | None:
    """Pixels on a side seen by one unit of the widest-seeing spatial feature map (the last one,
    before global pooling); None for the whole image: a transformer or MLP-Mixer mixes every
    token with every other (Swin: by its last stage, whose one window covers the map)."""
    if arch.kind != "CNN":
        return None
    if arch.framework == "timm":
        from timm.models import create_feature_extractor, get_graph_node_names
    else:
        from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names
    with torch.device("meta"):
        model = arch.build().eval()
    _, nodes = get_graph_node_names(model)
    traced = create_feature_extractor(model, [nodes[-1]])
    fields = receptive_fields(traced, torch.empty(1, arch.channels, arch.input_size, arch.input_size, device="meta"))
    return max(f.size for f in fields.values() if not f.is_global)


def traced_in_child(keys: list[str]):
    """Yields (key, pixels or None) for each architecture as it is traced, in a fresh interpreter."""
    for key, pixels in json_lines("app.atlas.receptive", *keys):
        yield key, pixels


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:]:
        print(json.dumps([name, theoretical_receptive_field(BY_KEY[name])]), flush=True)
