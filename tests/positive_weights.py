"""Networks made fit for a brute-force receptive-field check."""

from torch import nn

_POOLS = {nn.MaxPool2d: nn.AvgPool2d, nn.MaxPool3d: nn.AvgPool3d}


def all_positive(model: nn.Module) -> nn.Module:
    """Weights positive, batch norm the identity, max-pools averaged: every input pixel in a unit's
    receptive field then has a non-zero gradient, and none outside."""
    for name, module in list(model.named_modules()):
        if isinstance(module, (nn.Conv2d, nn.Conv3d)):
            nn.init.constant_(module.weight, 1.0 / module.weight[0].numel())
        elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm3d)):
            module.reset_parameters()
            module.reset_running_stats()
        elif type(module) in _POOLS:
            parent, _, child = name.rpartition(".")
            pool = _POOLS[type(module)](module.kernel_size, module.stride, module.padding)
            setattr(model.get_submodule(parent) if parent else model, child, pool)
    return model.eval()
