"""The device is where jobs run: checked before any job starts, without torch in the workflow."""

from __future__ import annotations

import subprocess

import pytest
import torch

from unlearning.errors import UserError
from unlearning.runtime import check_device_available, select_device


def _interpreter(tmp_path, prints: str):
    """A stand-in for the jobs' Python that reports ``prints`` GPUs (-1: it has no torch)."""
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\necho {prints}\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("name", ["auto", "cpu"])
def test_auto_and_cpu_start_no_subprocess(monkeypatch, name):
    def refuse(*args, **kwargs):
        raise AssertionError("no subprocess for auto or cpu")

    monkeypatch.setattr(subprocess, "run", refuse)
    check_device_available(name)


def test_cuda_is_refused_where_no_gpu_is_visible(tmp_path):
    with pytest.raises(UserError, match=r"^Config asks for device 'cuda' but no CUDA GPU is"):
        check_device_available("cuda", _interpreter(tmp_path, "0"))


def test_a_gpu_index_beyond_the_visible_ones_is_refused(tmp_path):
    python = _interpreter(tmp_path, "2")
    check_device_available("cuda", python)
    check_device_available("cuda:1", python)
    with pytest.raises(UserError, match=r"'cuda:2' but only 2 CUDA GPU\(s\) are visible"):
        check_device_available("cuda:2", python)


@pytest.mark.parametrize("prints", ["-1", "garbage"])
def test_an_interpreter_that_cannot_tell_leaves_the_check_to_the_jobs(tmp_path, prints):
    check_device_available("cuda", _interpreter(tmp_path, prints))
    check_device_available("cuda", str(tmp_path / "no_such_python"))


def test_this_interpreter_agrees_with_torch():
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count:
        check_device_available(f"cuda:{count - 1}")
        assert select_device(f"cuda:{count - 1}").type == "cuda"
    with pytest.raises(UserError, match="CUDA GPU"):
        check_device_available(f"cuda:{count}")
    with pytest.raises(UserError, match="CUDA GPU"):
        select_device(f"cuda:{count}")
