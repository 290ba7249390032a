"""Outputs are written atomically and get the mode a plain ``open`` or ``mkdir`` would give."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from unlearning.atomic import atomic_dir, current_umask, write_json, write_npz, write_text
from unlearning.data.prepared import write_prepared
from unlearning.models import build_model, save_checkpoint


@pytest.fixture(params=[0o022, 0o077, 0o002], ids=["umask022", "umask077", "umask002"])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_umask_is_read_without_changing_it(umask):
    assert current_umask() == umask
    assert current_umask() == umask


def test_files_and_folders_get_the_mode_a_plain_open_gives(tmp_path, umask):
    (tmp_path / "plain.txt").write_text("x")
    (tmp_path / "plain").mkdir()
    file_mode, folder_mode = _mode(tmp_path / "plain.txt"), _mode(tmp_path / "plain")
    assert (file_mode, folder_mode) == (0o666 & ~umask, 0o777 & ~umask)

    out = tmp_path / "out"
    write_json(out / "a.json", {"a": 1})
    write_text(out / "b.txt", "b")
    write_npz(out / "c.npz", {"x": np.zeros(3)})
    model = build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.125)
    description = {
        "architecture": "allcnn",
        "num_classes": 3,
        "in_channels": 1,
        "image_size": 8,
        "mean": [0.5],
        "std": [0.25],
        "width_factor": 0.125,
    }
    save_checkpoint(out / "model.pt", model, description)
    images = np.zeros((6, 1, 4, 4), dtype=np.uint8)
    write_prepared(out / "data", images, np.arange(6) % 2, np.zeros(6, np.uint8), ["a", "b"], "t")
    with atomic_dir(out / "figures") as folder:
        (folder / "f.png").write_bytes(b"png")
    files = [p for p in out.rglob("*") if p.is_file()]
    folders = [out, *(p for p in out.rglob("*") if p.is_dir())]
    assert len(files) >= 10 and len(folders) == 3
    assert {str(p.relative_to(out)): _mode(p) for p in files} == {
        str(p.relative_to(out)): file_mode for p in files
    }
    assert {p.name: _mode(p) for p in folders} == {p.name: folder_mode for p in folders}
    assert torch.load(out / "model.pt", weights_only=True)
