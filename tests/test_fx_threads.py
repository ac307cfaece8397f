"""torch.fx traces while other threads run models (app.serving.fx_threads): a forward in another
thread during a trace computes what it computes alone, and traces in two threads at once give
the graphs each gives alone."""

import torch
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from app.serving.fx_threads import isolate_traces
from tests.concurrency import at_once


def _traced(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(*[nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
                           for _ in range(12)]).eval()


def test_forwards_and_traces_in_other_threads_are_what_they_are_alone():
    isolate_traces()
    subject, runner = _traced(0), _traced(1)
    image = torch.randn(2, 4, 16, 16)
    with torch.inference_mode():
        expected = runner(image)
    alone = create_feature_extractor(subject, ["5.2", "11.2"]).code
    traces, outputs = [], []

    def work(index: int) -> None:
        for _ in range(30):
            if index < 2:  # two tracing threads at once
                traces.append(create_feature_extractor(subject, ["5.2", "11.2"]).code)
            else:  # two threads running a model, as students' captures and training runs do
                with torch.inference_mode():
                    outputs.append(runner(image))

    assert at_once(work, 4) == []
    assert len(traces) == 60 and set(traces) == {alone}
    assert len(outputs) == 60 and all(torch.equal(output, expected) for output in outputs)
