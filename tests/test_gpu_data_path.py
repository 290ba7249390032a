"""Batches gathered from a device-resident copy of the images.

On the CPU nothing may change, so batches are compared with the drawing code as it was, kept
below as a reference. The residency rule and the shared copy are checked with a fake device
(sizes and copies faked on the CPU); the real CUDA path is checked where a GPU is present.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unlearning.data import imageset
from unlearning.data.imageset import AUGMENTATIONS, ImageSet, fits_on_device, resident_source
from unlearning.data.prepared import load_prepared, write_prepared

FAKE_GPU = torch.device("cuda", 0)


def reference_augment(x, kind, generator):
    n, _, h, w = x.shape
    if kind == "flip":
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        return torch.where(flip[:, None, None, None], x.flip(-1), x).contiguous()
    pad = 4
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect" if min(h, w) > pad else "replicate")
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :]).to(x.device)
    cols = (dx[:, None] + torch.arange(w)[None, :]).to(x.device)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if kind == "crop_flip":
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        out = torch.where(flip[:, None, None, None], out.flip(-1), out)
    return out.contiguous()


def reference_batches(data, batch_size, *, shuffle, generator, augment, drop_last):
    n = len(data)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        x = data.source[data.rows(idx)].float().div_(255.0)
        y = data.labels[idx]
        if augment != "none":
            x = reference_augment(x, augment, generator)
        yield x, y


def _source(n=40, shape=(3, 10, 12), seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=g)
    return ImageSet(images, torch.randint(0, 5, (n,), generator=g))


def _sets():
    """A whole source, an index-only selection of it (out of order), and tiny 4-pixel images."""
    full = _source()
    return {
        "full": full,
        "selection": full.subset([7, 3, 3, 21, 0, 39, 12, 5, 30, 18, 11]),
        "tiny": _source(9, (1, 4, 4), seed=1),
    }


def _assert_same(data, device, *, shuffle, augment, drop_last, batch_size=4):
    got = list(
        data.batches(
            batch_size,
            device=device,
            shuffle=shuffle,
            generator=torch.Generator().manual_seed(5),
            augment=augment,
            drop_last=drop_last,
        )
    )
    want = list(
        reference_batches(
            data,
            batch_size,
            shuffle=shuffle,
            generator=torch.Generator().manual_seed(5),
            augment=augment,
            drop_last=drop_last,
        )
    )
    assert len(got) == len(want) > 0
    for (x, y), (x_ref, y_ref) in zip(got, want, strict=True):
        assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


COMBINATIONS = [
    (shuffle, augment, drop_last)
    for shuffle in (False, True)
    for augment in AUGMENTATIONS
    for drop_last in (False, True)
]


@pytest.mark.parametrize(("shuffle", "augment", "drop_last"), COMBINATIONS)
def test_cpu_batches_are_unchanged(shuffle, augment, drop_last):
    for data in _sets().values():
        _assert_same(data, "cpu", shuffle=shuffle, augment=augment, drop_last=drop_last)


@pytest.fixture
def fake_gpu(monkeypatch):
    """``cuda:0`` with 1 MB free whose "copies" stay on the CPU; yields the list of copies."""
    copies = []

    def copy(source, device):
        copies.append(device)
        return source.clone()

    monkeypatch.delenv(imageset.RESIDENT_ENV, raising=False)
    monkeypatch.setattr(imageset, "_copy_to_device", copy)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (10**6, 2 * 10**6))
    yield copies
    imageset._resident.clear()


@pytest.mark.parametrize(("shuffle", "augment", "drop_last"), COMBINATIONS)
def test_batches_gathered_from_a_resident_copy_are_the_same(fake_gpu, shuffle, augment, drop_last):
    for name, data in _sets().items():
        _assert_same(data, FAKE_GPU, shuffle=shuffle, augment=augment, drop_last=drop_last)
        assert data._moved is not None, name  # the resident path was taken


def test_residency_rule():
    assert fits_on_device(99, 400)
    assert not fits_on_device(100, 400)  # a quarter of the free memory, strictly less
    assert not fits_on_device(10**9, 10**9)
    assert fits_on_device(10**9, 10**9, share=1.5)


def test_resident_copy_is_made_once_and_shared(fake_gpu, tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (30, 1, 4, 4), dtype=np.uint8)
    partition = np.array([0] * 20 + [2] * 10, dtype=np.uint8)
    write_prepared(tmp_path, images, np.arange(30) % 3, partition, ["a", "b", "c"], source="t")
    data = load_prepared(tmp_path)
    train, test = data.part("train"), data.part("test")
    sets = [train, test, train.subset([1, 2]), train.relabel(train.labels + 1)]
    sets.append(ImageSet.concat([sets[2], test]))
    for subset in sets:
        for _ in range(2):
            for _ in subset.batches(8, device=FAKE_GPU, shuffle=True, generator=torch.Generator()):
                pass
    assert fake_gpu == [FAKE_GPU]
    assert resident_source(train.source, "cpu") is None
    # the copy goes when the last set over the source does
    del data, train, test, sets, subset
    gc.collect()
    assert imageset._resident == {}


def test_residency_is_refused_when_too_large_or_turned_off(fake_gpu, monkeypatch):
    big = _source(10, (1, 160, 160)).source  # 256,000 bytes: over a quarter of the 1 MB free
    assert resident_source(big, FAKE_GPU) is None
    small = _source(10, (1, 4, 4)).source  # 160 bytes
    monkeypatch.setenv(imageset.RESIDENT_ENV, "0")
    assert resident_source(small, FAKE_GPU) is None
    monkeypatch.setenv(imageset.RESIDENT_ENV, "1")
    assert resident_source(small, FAKE_GPU) is not None
    assert len(fake_gpu) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize(("shuffle", "augment", "drop_last"), COMBINATIONS)
def test_cuda_batches_match(monkeypatch, shuffle, augment, drop_last):
    copies = []
    real_copy = imageset._copy_to_device

    def counting_copy(source, device):
        copies.append(device)
        return real_copy(source, device)

    monkeypatch.setattr(imageset, "_copy_to_device", counting_copy)
    monkeypatch.delenv(imageset.RESIDENT_ENV, raising=False)
    sets = _sets()
    options = {"shuffle": shuffle, "augment": augment, "drop_last": drop_last}

    def draw(data, device):
        gen = torch.Generator().manual_seed(5)
        return [
            (x.cpu(), y.cpu()) for x, y in data.batches(4, device=device, generator=gen, **options)
        ]

    try:
        for data in sets.values():
            resident = draw(data, "cuda")
            assert data._moved is not None
            monkeypatch.setenv(imageset.RESIDENT_ENV, "0")
            per_batch = draw(data, "cuda")
            monkeypatch.delenv(imageset.RESIDENT_ENV)
            on_cpu = draw(data, "cpu")
            for (x, y), (x_pb, y_pb), (x_cpu, y_cpu) in zip(
                resident, per_batch, on_cpu, strict=True
            ):
                # exactly the per-batch copy's pixels; CUDA divides by 255 as a multiplication by
                # its reciprocal, so pixels may differ from the CPU's by one float32 ulp
                assert torch.equal(x, x_pb) and torch.equal(y, y_pb) and torch.equal(y, y_cpu)
                torch.testing.assert_close(x, x_cpu, rtol=2.5e-7, atol=0)
        assert len(copies) == 2  # "full" and "selection" share a source; "tiny" has its own
    finally:
        imageset._resident.clear()
