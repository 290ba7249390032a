"""Checkpoints carry the sha256 of their bytes and finite weights, or they are refused."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import torch
from test_external_model import DESCRIPTION
from test_numerics import DIGITS

from unlearning.errors import UserError
from unlearning.models import build_model, load_checkpoint, save_checkpoint
from unlearning.steps.data import prepare_data
from unlearning.steps.train import import_original
from unlearning.steps.verify import verify_checkpoints


def _model():
    torch.manual_seed(0)
    return build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.1)


def _flip_in_place(path):
    """Change bytes in the middle of the file (tensor data), keeping its size and mtime."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_the_sidecar_records_the_sha256_of_the_weights(tmp_path):
    save_checkpoint(tmp_path / "model.pt", _model(), DESCRIPTION)
    side = json.loads((tmp_path / "model.json").read_text())
    assert side["sha256"] == hashlib.sha256((tmp_path / "model.pt").read_bytes()).hexdigest()
    again = tmp_path / "again"
    save_checkpoint(again / "model.pt", _model(), DESCRIPTION)
    assert (again / "model.pt").read_bytes() == (tmp_path / "model.pt").read_bytes()


@pytest.mark.parametrize(
    ("kind", "rule"),
    [("original", "train_original"), ("retrain", "train_retrain"), ("unlearned", "unlearn")],
)
def test_a_checkpoint_changed_in_place_is_refused_naming_the_rule(tmp_path, kind, rule):
    path = tmp_path / "model.pt"
    save_checkpoint(path, _model(), {**DESCRIPTION, "kind": kind})
    _flip_in_place(path)
    with pytest.raises(UserError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert message.startswith(f"Checkpoint {path} is corrupt")
    assert f"delete it and run snakemake again, which reruns rule {rule} for it" in message


def test_a_sidecar_without_a_checksum_still_loads(tmp_path):
    """Results written before checksums were recorded stay usable."""
    save_checkpoint(tmp_path / "model.pt", _model(), DESCRIPTION)
    side = json.loads((tmp_path / "model.json").read_text())
    del side["sha256"]
    (tmp_path / "model.json").write_text(json.dumps(side))
    load_checkpoint(tmp_path / "model.pt")


def _nan_state():
    model = _model()
    state = model.state_dict()
    key = next(k for k, v in state.items() if v.is_floating_point() and k.startswith("features"))
    state[key] = state[key].clone().fill_(float("nan"))
    return model, state, key


def test_non_finite_weights_are_never_saved(tmp_path):
    model, state, key = _nan_state()
    model.load_state_dict(state)
    with pytest.raises(UserError, match=rf"{key} holds NaN or infinity"):
        save_checkpoint(tmp_path / "model.pt", model, DESCRIPTION)
    assert not list(tmp_path.iterdir())


def test_a_checkpoint_with_non_finite_weights_is_refused_naming_the_file(tmp_path):
    _, state, key = _nan_state()
    torch.save(state, tmp_path / "model.pt")
    (tmp_path / "model.json").write_text(json.dumps(DESCRIPTION))
    with pytest.raises(UserError) as caught:
        load_checkpoint(tmp_path / "model.pt")
    assert str(caught.value).startswith(
        f"Checkpoint {tmp_path / 'model.pt'} holds non-finite weights ({key} has NaN"
    )


def test_an_imported_original_with_non_finite_weights_is_refused(tmp_path):
    folder = tmp_path / "digits"
    prepare_data("digits", DIGITS, folder)
    torch.manual_seed(0)
    model = build_model("allcnn", 10, 1, 8, [0.5], [0.25], 0.125)
    state = model.state_dict()
    state["head.weight"][0, 0] = float("inf")
    torch.save(state, tmp_path / "own.pt")
    out = tmp_path / "original"
    with pytest.raises(UserError) as caught:
        import_original(
            folder,
            tmp_path / "own.pt",
            {"architecture": "allcnn", "width_factor": 0.125, "dropout": 0.0},
            None,
            out / "model.pt",
            out / "run.json",
        )
    assert str(caught.value).startswith(
        f"Original checkpoint {tmp_path / 'own.pt'} holds non-finite weights (head.weight"
    )
    assert not out.exists()


def _truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def _nan_weights(path):
    """Non-finite weights under a matching sha256 (written before checksums were checked)."""
    state = torch.load(path, weights_only=True)
    state["head.bias"][0] = float("nan")
    torch.save(state, path)
    side = path.with_suffix(".json")
    description = json.loads(side.read_text())
    description["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    side.write_text(json.dumps(description))


@pytest.mark.parametrize(
    ("damage", "cause"),
    [
        (_flip_in_place, "do not match the sha256 recorded in model.json"),
        (_truncate, "do not match the sha256"),
        (_nan_weights, "head.bias holds NaN or infinity"),
        (lambda path: path.with_suffix(".json").unlink(), "model.json is missing"),
        (lambda path: path.with_suffix(".json").write_text("{"), "model.json is unreadable"),
    ],
    ids=["flipped", "truncated", "nan-weights", "no-description", "bad-description"],
)
def test_verify_names_each_damaged_checkpoint_and_removes_it(tmp_path, capsys, damage, cause):
    for name in ("good", "bad"):
        save_checkpoint(tmp_path / name / "model.pt", _model(), {**DESCRIPTION, "kind": "retrain"})
    damage(tmp_path / "bad" / "model.pt")
    summary = verify_checkpoints(tmp_path)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"corrupt: {tmp_path / 'bad' / 'model.pt'}: ") and cause in lines[0]
    assert len(lines) == 2 and "2 checkpoints" in summary and "1 corrupt" in summary
    assert (
        not (tmp_path / "bad" / "model.pt").exists() and (tmp_path / "good" / "model.pt").exists()
    )
