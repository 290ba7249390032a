"""Images kept as uint8 tensors and turned into float pixel batches only when a batch is drawn.

Every method, trainer and metric sees data through :class:`ImageSet`, so the conversion to
[0, 1] pixels (the space every method works in) and batch-level augmentation live in one place.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

AUGMENTATIONS = ("none", "crop_flip", "crop", "flip")
RESIDENT_ENV = "UNLEARNING_GPU_RESIDENT"
RESIDENT_SHARE = 0.25  # of the device's free memory a source may take

# (id(source), device) -> (weak reference to the source, its copy on the device)
_resident: dict[tuple[int, str], tuple[weakref.ref, torch.Tensor]] = {}


def fits_on_device(nbytes: int, free_bytes: int, share: float = RESIDENT_SHARE) -> bool:
    """Whether a source of ``nbytes`` may live on a device with ``free_bytes`` free.

    A quarter of the free memory leaves the model, its activations and optimiser state room.
    """
    return nbytes < share * free_bytes


def _copy_to_device(source: torch.Tensor, device: torch.device) -> torch.Tensor:
    return source.to(device)


def resident_source(source: torch.Tensor, device: torch.device | str) -> torch.Tensor | None:
    """The copy of ``source`` on a CUDA ``device``, made once and shared by every set over it.

    None where batches are copied one by one as before: on the CPU, when the source is already on
    the device, when it does not fit (:func:`fits_on_device`), or when the environment variable
    ``UNLEARNING_GPU_RESIDENT=0`` turns the resident copy off (for debugging). The copy is
    dropped when the source tensor is.
    """
    device = torch.device(device)
    if device.type != "cuda" or source.device.type == "cuda":
        return None
    if os.environ.get(RESIDENT_ENV, "1").strip() == "0":
        return None
    if device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    key = (id(source), str(device))
    entry = _resident.get(key)
    if entry is not None and entry[0]() is source:
        return entry[1]
    free, _ = torch.cuda.mem_get_info(device)
    if not fits_on_device(source.numel() * source.element_size(), free):
        return None
    copy = _copy_to_device(source, device)
    _resident[key] = (weakref.ref(source), copy)
    weakref.finalize(source, _resident.pop, key, None)
    return copy


class ImageSet:
    """A labelled selection of uint8 images (N, C, H, W) with int64 labels.

    ``source`` may be a tensor over a memory-mapped ``images.npy``: a selection keeps only the
    row indices, and rows are read when a batch is drawn, so no set has to fit in memory.
    ``images`` materialises the selection (a copy) for code that needs the array itself.

    On a CUDA device a source that fits is copied there once (:func:`resident_source`) and
    batches are gathered on the device, which saves a host-to-device copy per batch; the shuffle
    and augmentation draws stay on the CPU generator, so a seed gives the same batches either
    way.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        index: torch.Tensor | None = None,
    ) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError("ImageSet.images must be a uint8 tensor of shape (N, C, H, W)")
        n = images.shape[0] if index is None else index.shape[0]
        if labels.shape != (n,):
            raise ValueError("ImageSet.labels must have one label per image")
        self.source = images
        self.labels = labels
        self.index = index
        # (device, labels, index, labels there, index there): moved once, reused every pass
        self._moved: tuple | None = None

    @classmethod
    def from_numpy(cls, images: np.ndarray, labels: np.ndarray) -> ImageSet:
        return cls(torch.as_tensor(np.asarray(images)), torch.as_tensor(np.asarray(labels)).long())

    @property
    def images(self) -> torch.Tensor:
        return self.source if self.index is None else self.source[self.index]

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.source.shape[1:])

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def rows(self, positions: torch.Tensor) -> torch.Tensor:
        """Rows of ``source`` holding the selection's ``positions``."""
        return positions if self.index is None else self.index[positions]

    def _on_device(
        self, device: torch.device | str
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None:
        """(resident source, labels, index) on ``device``, or None to copy batch by batch."""
        source = resident_source(self.source, device)
        if source is None:
            return None
        moved = self._moved
        if (
            moved is None
            or moved[0] != source.device
            or moved[1] is not self.labels
            or moved[2] is not self.index
        ):
            index = None if self.index is None else self.index.to(source.device)
            moved = (source.device, self.labels, self.index, self.labels.to(source.device), index)
            self._moved = moved
        return source, moved[3], moved[4]

    def subset(self, indices: np.ndarray | torch.Tensor | list[int]) -> ImageSet:
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return ImageSet(self.source, self.labels[idx], self.rows(idx))

    def relabel(self, labels: torch.Tensor) -> ImageSet:
        """The same images with other labels (e.g. teacher ids, random labels)."""
        return ImageSet(self.source, labels, self.index)

    @staticmethod
    def concat(sets: list[ImageSet]) -> ImageSet:
        """The sets one after another; selections of one source stay index-only (no copy)."""
        labels = torch.cat([s.labels for s in sets])
        if all(s.source is sets[0].source for s in sets):
            index = torch.cat([s.rows(torch.arange(len(s))) for s in sets])
            return ImageSet(sets[0].source, labels, index)
        return ImageSet(torch.cat([s.images for s in sets]), labels)

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
        resident = self._on_device(device) if stop > 0 else None
        if resident is not None:
            source, labels, index = resident
            order = order.to(source.device)  # one copy per pass instead of one per batch
        for start in range(0, stop, batch_size):
            idx = order[start : start + batch_size]
            if resident is None:
                x = self.source[self.rows(idx)].to(device, non_blocking=True).float().div_(255.0)
                y = self.labels[idx].to(device, non_blocking=True)
            else:
                x = source[idx if index is None else index[idx]].float().div_(255.0)
                y = labels[idx]
            if augment != "none":
                x = augment_batch(x, augment, generator)
            yield x, y

    def forever(
        self,
        batch_size: int,
        *,
        device: torch.device | str,
        generator: torch.Generator,
        augment: str = "none",
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled batches without end, for a second stream (e.g. remain batches) beside a loop."""
        if len(self) == 0:
            raise ValueError("cannot draw batches from an empty image set")
        while True:
            yield from self.batches(
                batch_size, device=device, shuffle=True, generator=generator, augment=augment
            )


def augment_batch(x: torch.Tensor, kind: str, generator: torch.Generator | None) -> torch.Tensor:
    """Random 4-pixel-padded crop and/or horizontal flip applied to a whole batch at once.

    ``flip`` alone is the FashionMNIST training transform of the paper's reference code.
    """
    if kind not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {kind!r}; choose one of {AUGMENTATIONS}")
    n, _, h, w = x.shape
    if kind == "flip":
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        return torch.where(flip[:, None, None, None], x.flip(-1), x).contiguous()
    pad = 4
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect" if min(h, w) > pad else "replicate")
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    # the draws come from the CPU generator; only n offsets, not n x h indices, cross to x.device
    rows = dy.to(x.device)[:, None] + torch.arange(h, device=x.device)[None, :]  # (n, h)
    cols = dx.to(x.device)[:, None] + torch.arange(w, device=x.device)[None, :]  # (n, w)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if kind == "crop_flip":
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        out = torch.where(flip[:, None, None, None], out.flip(-1), out)
    return out.contiguous()
