"""Figure 4: one epoch of ``ImageSet.batches`` over a memory-mapped prepared set, no model, with
and without augmentation: the share of a training step that drawing batches costs."""

from __future__ import annotations

import functools
import tempfile

import numpy as np
import torch

from unlearning.bench import fixtures
from unlearning.bench.timing import clock, median, paired
from unlearning.data.prepared import load_prepared, write_prepared

AUGMENTS = ("none", "crop_flip")


def epoch(data, batch_size: int, device: torch.device, augment: str, generator) -> None:
    for x, _ in data.batches(
        batch_size, device=device, shuffle=True, generator=generator, augment=augment
    ):
        del x


def _epochs(
    folder: str, device: torch.device, sizes: fixtures.Sizes
) -> dict[str, dict[str, list[float]]]:
    """Timed epochs per augmentation; the memory map is released on return."""
    data = load_prepared(folder).part("train")
    g = torch.Generator().manual_seed(0)
    runs = {a: functools.partial(epoch, data, sizes.batch_size, device, a, g) for a in AUGMENTS}
    return paired(runs, device, warmup=sizes.warmup, repeats=sizes.repeats)


def measure(device: torch.device, sizes: fixtures.Sizes) -> dict[str, object]:
    pixels, labels = fixtures.images(sizes.data_images, sizes, seed=4)
    out: dict[str, object] = {
        "workload": f"{sizes.data_images} images of {sizes.image_size} px, batch "
        f"{sizes.batch_size}, memory-mapped (page cache warm)",
        "images": sizes.data_images,
    }
    with tempfile.TemporaryDirectory(prefix="bench-data-") as folder:
        write_prepared(
            folder,
            pixels.numpy(),
            labels.numpy(),
            np.zeros(len(labels), dtype=np.uint8),  # every image in the training partition
            classes=[str(c) for c in range(fixtures.NUM_CLASSES)],
            source="benchmark (random pixels)",
        )
        seconds = _epochs(folder, device, sizes)
    out["clock"] = clock(device)
    for augment in AUGMENTS:
        s = median(seconds[out["clock"]][augment])
        out[augment] = {
            "s_per_epoch": s,
            "img_s": sizes.data_images / s,
            "samples_s": {c: seconds[c][augment] for c in seconds},
        }
    return out
