"""The workloads: sizes per mode and device, the model and the tensors both sides share."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from unlearning.data.imageset import ImageSet
from unlearning.models import build_model

NUM_CLASSES = 10
CHANNELS = 3


@dataclass(frozen=True)
class Sizes:
    """How much work each figure times. The CPU defaults repeat an earlier measurement (AllCNN
    96/192 at 32 px, 149 images, batch 64); a GPU gets more images so that a pass is not only
    kernel launches; ``--quick`` shrinks everything so tests finish in seconds."""

    image_size: int = 32
    width_factor: float = 1.0  # 1.0 is AllCNN's 96 and 192 channels
    train_images: int = 149
    batch_size: int = 64
    eval_images: int = 128
    eval_batch_size: int = 1024  # the evaluation default of config/config.yaml
    data_images: int = 10_000
    warmup: int = 1
    repeats: int = 5
    import_repeats: int = 3
    full_import_ladder: bool = True  # False: an empty interpreter, torch, the scripts' lines
    digits_train_epochs: int | None = 2  # the fixed cost does not grow with epochs; None: config's
    digits_unlearn_epochs: int | None = None  # None: the config's own
    digits_image_size: int | None = None  # None: the config's own
    paper_dry_run: bool = True

    def describe(self) -> str:
        widths = f"{round(96 * self.width_factor)}/{round(192 * self.width_factor)}"
        return f"AllCNN {widths} at {self.image_size} px"


FULL_CPU = Sizes()
FULL_CUDA = dataclasses.replace(
    FULL_CPU,
    train_images=4096,
    eval_images=16_384,
    data_images=50_000,
    digits_train_epochs=None,
)
QUICK = Sizes(
    image_size=16,
    width_factor=0.25,
    train_images=24,
    batch_size=8,
    eval_images=48,
    eval_batch_size=16,
    data_images=256,
    repeats=1,
    import_repeats=1,
    full_import_ladder=False,
    digits_train_epochs=1,
    digits_unlearn_epochs=1,
    digits_image_size=8,
    paper_dry_run=False,
)


def sizes_for(device: torch.device, quick: bool) -> Sizes:
    if quick:
        return QUICK
    return FULL_CUDA if device.type == "cuda" else FULL_CPU


def model(sizes: Sizes, device: torch.device, seed: int = 0) -> torch.nn.Module:
    """A freshly initialised AllCNN through the project's own builder."""
    torch.manual_seed(seed)
    net = build_model(
        "allcnn",
        NUM_CLASSES,
        CHANNELS,
        sizes.image_size,
        mean=[0.5] * CHANNELS,
        std=[0.25] * CHANNELS,
        width_factor=sizes.width_factor,
    )
    return net.to(device)


def images(n: int, sizes: Sizes, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded uint8 images and labels; speed does not depend on what the pixels show."""
    g = torch.Generator().manual_seed(seed)
    shape = (n, CHANNELS, sizes.image_size, sizes.image_size)
    pixels = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
    labels = torch.randint(0, NUM_CLASSES, (n,), generator=g)
    return pixels, labels


def both_sides(
    n: int, sizes: Sizes, device: torch.device, seed: int = 0
) -> tuple[ImageSet, torch.Tensor, torch.Tensor]:
    """The same images as an :class:`ImageSet` (the project's side) and as float pixels already
    on ``device`` (the bare side, which pays no conversion or copy)."""
    pixels, labels = images(n, sizes, seed)
    x = pixels.to(device).float().div_(255.0)
    return ImageSet(pixels, labels), x, labels.to(device)
