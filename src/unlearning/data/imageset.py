"""Images kept as uint8 tensors and turned into float pixel batches only when a batch is drawn.

Every method, trainer and metric sees data through :class:`ImageSet`, so the conversion to
[0, 1] pixels (the space DESIGN §4 works in) and batch-level augmentation live in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

AUGMENTATIONS = ("none", "crop_flip", "crop")


@dataclass(frozen=True)
class ImageSet:
    """A labelled image set: ``images`` uint8 (N, C, H, W) on the CPU, ``labels`` int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError("ImageSet.images must be a uint8 tensor of shape (N, C, H, W)")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError("ImageSet.labels must have one label per image")

    @classmethod
    def from_numpy(cls, images: np.ndarray, labels: np.ndarray) -> ImageSet:
        return cls(torch.as_tensor(np.asarray(images)), torch.as_tensor(np.asarray(labels)).long())

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices: np.ndarray | torch.Tensor | list[int]) -> ImageSet:
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return ImageSet(self.images[idx], self.labels[idx])

    def batches(
        self,
        batch_size: int,
        *,
        device: torch.device | str = "cpu",
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        augment: str = "none",
        drop_last: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(pixels in [0, 1], labels)`` on ``device``; one pass over the set."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        stop = n - n % batch_size if drop_last and n >= batch_size else n
        for start in range(0, stop, batch_size):
            idx = order[start : start + batch_size]
            x = self.images[idx].to(device, non_blocking=True).float().div_(255.0)
            y = self.labels[idx].to(device, non_blocking=True)
            if augment != "none":
                x = augment_batch(x, augment, generator)
            yield x, y

    def forever(
        self, batch_size: int, *, device: torch.device | str, generator: torch.Generator
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled batches without end, for a second stream (e.g. remain batches) beside a loop."""
        if len(self) == 0:
            raise ValueError("cannot draw batches from an empty image set")
        while True:
            yield from self.batches(batch_size, device=device, shuffle=True, generator=generator)


def augment_batch(x: torch.Tensor, kind: str, generator: torch.Generator | None) -> torch.Tensor:
    """Random 4-pixel-padded crop (and horizontal flip) applied to a whole batch at once."""
    if kind not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {kind!r}; choose one of {AUGMENTATIONS}")
    n, _, h, w = x.shape
    pad = 4
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect" if min(h, w) > pad else "replicate")
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :]).to(x.device)  # (n, h)
    cols = (dx[:, None] + torch.arange(w)[None, :]).to(x.device)  # (n, w)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if kind == "crop_flip":
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        out = torch.where(flip[:, None, None, None], out.flip(-1), out)
    return out.contiguous()
