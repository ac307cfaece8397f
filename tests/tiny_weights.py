"""A tiny registry-style spec (timm's test_resnet, 0.5 M parameters) for weight tests."""

from pretrained.spec import ModelSpec, Preprocessing, WeightsFile


def tiny_spec(**weights_fields) -> ModelSpec:
    fields = {"filename": "tiny_resnet.pth"} | weights_fields
    return ModelSpec(
        name="tiny_resnet", title="Tiny ResNet", family="cnn", framework="timm",
        architecture="test_resnet", num_params=469_688, layers=("stem",),
        preprocessing=Preprocessing(160, 168, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        weights=WeightsFile(**fields),
    )
