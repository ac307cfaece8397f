"""What a run needs to go on from a step exactly as if it had never stopped: the model's
weights and buffers, the optimizer's running state (momentum buffers, Adam's moments and step
counts) and the run's random generator, which draws each epoch's batch order and the
augmentations.

Kept as a flat dict of tensors, so that it is stored like a checkpoint (safetensors, no pickle).
Dropout draws from torch's global generator, shared by every run on the server: a resumed run
with dropout draws other masks than an uninterrupted one would have (equally random ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

_MODEL, _OPTIMIZER = "model.", "optimizer."
_STEP, _EPOCH, _EPOCH_START, _NOW = "step", "generator.epoch", "generator.epoch_start", "generator.now"


@dataclass(frozen=True, eq=False)
class ResumeState:
    step: int
    model: dict[str, torch.Tensor]  # its state dict, on the CPU
    optimizer: dict[int, dict[str, torch.Tensor]]  # optimizer.state_dict()["state"], tensors only
    epoch: int  # the epoch whose batch order was drawn last (-1 before the first)
    epoch_start: torch.Tensor  # the generator's state before it drew that order
    now: torch.Tensor  # its state at `step`

    def tensors(self) -> dict[str, torch.Tensor]:
        flat = {f"{_MODEL}{name}": value for name, value in self.model.items()}
        flat |= {f"{_OPTIMIZER}{index}.{name}": value for index, state in self.optimizer.items()
                 for name, value in state.items()}
        return flat | {_STEP: torch.tensor(self.step), _EPOCH: torch.tensor(self.epoch),
                       _EPOCH_START: self.epoch_start.clone(), _NOW: self.now.clone()}

    @classmethod
    def from_tensors(cls, flat: dict[str, torch.Tensor]) -> "ResumeState":
        if not {_STEP, _EPOCH, _EPOCH_START, _NOW} <= flat.keys():
            raise ValueError("a resume state without its step or the generator's states")
        model = {key[len(_MODEL):]: value for key, value in flat.items() if key.startswith(_MODEL)}
        optimizer: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in flat.items():
            if key.startswith(_OPTIMIZER):
                index, name = key[len(_OPTIMIZER):].split(".", 1)
                optimizer.setdefault(int(index), {})[name] = value
        return cls(int(flat[_STEP]), model, optimizer, int(flat[_EPOCH]), flat[_EPOCH_START], flat[_NOW])


def resume_state_now(step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, epoch: int,
                     epoch_start: torch.Tensor, generator: torch.Generator) -> ResumeState:
    weights = {name: value.detach().to("cpu", copy=True).contiguous() for name, value in model.state_dict().items()}
    state = optimizer.state_dict()["state"]
    # Copies: the optimizer updates its tensors in place at the next step. Every optimizer here
    # keeps tensors only (step counts included); a None (a momentum buffer before the first
    # step) is simply absent, as in a fresh optimizer.
    return ResumeState(step, weights,
                       {index: {name: value.detach().to("cpu", copy=True).contiguous()
                                for name, value in entries.items() if isinstance(value, torch.Tensor)}
                        for index, entries in state.items()}, epoch, epoch_start, generator.get_state())


def restore(model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: ResumeState) -> None:
    """Loads the weights, and the running state into a fresh optimizer over them (its settings,
    the learning rate included, stay the fresh one's: the loop sets the rate every step)."""
    model.load_state_dict(state.model)
    fresh = optimizer.state_dict()
    optimizer.load_state_dict({"state": state.optimizer, "param_groups": fresh["param_groups"]})


def epoch_order(generator: torch.Generator, state: ResumeState, epoch: int,
                count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(epoch `epoch`'s batch order, the generator's state before it was drawn) for the first
    epoch trained after resuming, with the generator left where it was at the resume state's
    step: the same order and the same augmentations follow."""
    if state.epoch == epoch:  # stopped within this epoch: its order again, then the draws made since
        generator.set_state(state.epoch_start)
        order = torch.randperm(count, generator=generator)
        generator.set_state(state.now)
        return order, state.epoch_start
    generator.set_state(state.now)  # stopped at the end of the epoch before: this one's order comes next
    return torch.randperm(count, generator=generator), state.now
