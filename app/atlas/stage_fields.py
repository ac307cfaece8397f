"""The theoretical receptive field of the middle unit of each measured stage, drawn over the
effective one: read off the traced graph (app.cnn.receptive_field) on the meta device, in a
fresh interpreter (`python -m app.atlas.stage_fields KEY…`, see app.atlas.fresh_interpreter)."""

from __future__ import annotations

import json

import torch

from app.atlas.erf_subjects import BY_KEY, ErfSubject
from app.atlas.fresh_interpreter import json_lines
from app.cnn.receptive_field import output_receptive_fields
from app.serving.fx_threads import isolate_traces

isolate_traces()  # this module traces models with torch.fx while other threads run them

SIZE = 224
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in input pixels


def centre_unit_boxes(subject: ErfSubject) -> list[Box | None]:
    """Per stage, what the middle unit (the one the page differentiates) can see; None where
    attention mixes tokens (a transformer's field is not a square a kernel arithmetic gives)."""
    if not subject.traceable:
        return [None] * len(subject.stages)
    from torchvision.models.feature_extraction import create_feature_extractor

    with torch.device("meta"):
        extractor = create_feature_extractor(subject.build(), list(subject.stages))
    example = torch.empty(1, 3, SIZE, SIZE, device="meta")
    [fields] = output_receptive_fields(extractor, example)
    shapes = {name: output.shape for name, output in extractor(example).items()}  # (1, C, H, W)
    return [None if fields[s].is_global else fields[s].box(shapes[s][-2] // 2, shapes[s][-1] // 2)
            for s in subject.stages]


def boxes_in_child(keys: list[str]):
    """Yields (key, [box or None per stage]) as each subject is traced."""
    for key, boxes in json_lines("app.atlas.stage_fields", *keys):
        yield key, [None if box is None else tuple(box) for box in boxes]


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:]:
        print(json.dumps([name, centre_unit_boxes(BY_KEY[name])]), flush=True)
