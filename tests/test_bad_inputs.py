"""Bad inputs, one table row each: config values, data files, metadata, checkpoints and the
command line. Every row must be refused with one sentence that names the config key or the
file, and must leave no partial output behind; the command-line rows run a real
``snakemake -n`` on a copy of the workflow and also check the exit status.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import re
import struct
import subprocess
import sys
import time
import unicodedata
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
import yaml
from PIL import Image
from test_sources_medmnist import write_npz
from test_sources_torchvision import write_mnist
from test_workflow import ROOT, TINY, copy_workflow, write_config

from unlearning import run_warnings
from unlearning.config_check import check_config, config_warnings
from unlearning.config_load import check_config_file
from unlearning.config_schema import apply_schema
from unlearning.data.conditions import make_split
from unlearning.data.imagefolder import load_image, prepare_imagefolder
from unlearning.data.medmnist_sets import prepare_medmnist
from unlearning.data.prepared import PARTITIONS, load_prepared, write_prepared
from unlearning.data.torchvision_sets import prepare_torchvision
from unlearning.entry import run_step
from unlearning.errors import UserError
from unlearning.methods import get_method, parse_params
from unlearning.models import build_model, save_checkpoint
from unlearning.models.external import import_original
from unlearning.steps import data as data_steps
from unlearning.steps import evaluate as evaluate_step
from unlearning.steps import train as train_step
from unlearning.steps import unlearn as unlearn_step

NAN, INF = math.nan, math.inf
#: Files a refused step must not leave in its output folder.
PARTIAL = ("info.json", "images.npy", "labels.npy", "split.json", "model.pt", "*.tmp", ".*.tmp")

#: An image-folder entry's settings as the schema completes them.
TINY_FOLDER = {
    "image_size": 8,
    "channels": 1,
    "resize": "resize",
    "val_fraction": 0.1,
    "test_fraction": 0.2,
    "split_seed": 0,
    "key_column": "file",
}


def assert_one_sentence(message: str) -> None:
    assert "\n" not in message, message
    assert message.endswith("."), message
    assert not re.search(r"[.!?] [A-Z]", message), message  # no second sentence
    assert "Traceback" not in message and ";" in message, message  # cause; fix


def assert_nothing_left(folder: Path) -> None:
    if folder.exists():
        left = [p.name for pattern in PARTIAL for p in folder.rglob(pattern)]
        assert not left, left


# --- config values ----------------------------------------------------------------------------


def default_config() -> dict:
    # a JSON round trip unshares the YAML anchors, so an edit touches one dataset only
    return json.loads(json.dumps(yaml.safe_load((ROOT / "config/config.yaml").read_text())))


def _set(path: str, value) -> Callable[[dict], None]:
    """An edit that sets the dotted ``path`` (``[i]`` indexes a list) to ``value``."""
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]

    def edit(config: dict) -> None:
        node = config
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value

    return edit


def _scanner_condition(condition: dict) -> Callable[[dict], None]:
    return _set("datasets.digits_scanners.conditions.bad", condition)


def _tsne_twice(config: dict) -> None:
    entry = config["report"]["tsne"][0]
    config["report"]["tsne"].append({**entry, "setting": "default", "seed": 0})


CONFIG_CASES = [
    # NaN and infinity pass every bound the schema compares
    ("train-lr-nan", _set("datasets.digits.train.lr", NAN), "datasets.digits.train.lr"),
    (
        "train-weight-decay-inf",
        _set("datasets.digits.train.weight_decay", INF),
        "datasets.digits.train.weight_decay",
    ),
    ("val-fraction-nan", _set("datasets.digits.val_fraction", NAN), "datasets.digits.val_fraction"),
    (
        "width-factor-inf",
        _set("datasets.digits.model.width_factor", INF),
        "datasets.digits.model.width_factor",
    ),
    ("dropout-nan", _set("datasets.digits.model.dropout", NAN), "datasets.digits.model.dropout"),
    (
        "normalization-std-nan",
        _set("datasets.digits.model.normalization", {"mean": [0.5], "std": [NAN]}),
        "datasets.digits.model.normalization.std[0]",
    ),
    (
        "fraction-nan",
        _set(
            "datasets.digits.conditions.frac",
            {"kind": "class_fraction", "class": 0, "fraction": NAN},
        ),
        "datasets.digits.conditions.frac.fraction",
    ),
    (
        "threshold-minus-inf",
        _scanner_condition(
            {"kind": "metadata_threshold", "column": "scanner", "op": ">", "threshold": -INF}
        ),
        "datasets.digits_scanners.conditions.bad.threshold",
    ),
    (
        "grid-value-nan",
        _set("methods.psg.grid[0].gamma", [0.0, NAN]),
        "methods.psg.grid[0].gamma[1]",
    ),
    # numeric strings are accepted as method params (1e-5 reads as a string), but not "nan"
    (
        "grid-string-nan",
        _set("methods.finetune.grid", {"lr": [0.1, "nan"]}),
        "methods.finetune.grid.lr[1]",
    ),
    (
        "override-string-inf",
        _set("datasets.digits.method_settings", {"finetune": {"grid": {"epochs": ["-Infinity"]}}}),
        "datasets.digits.method_settings.finetune.grid.epochs[0]",
    ),
    # a value listed twice would run and count twice
    ("seeds-repeat", _set("seeds", [0, 0]), "'seeds'"),
    ("grid-repeat", _set("methods.finetune.grid", {"lr": [0.1, 0.1]}), "methods.finetune.grid.lr"),
    (
        "grid-repeat-int-float",
        _set("methods.finetune.grid", {"epochs": [3, 3.0]}),
        "methods.finetune.grid.epochs",
    ),
    (
        "grid-list-repeat",
        _set("methods.psg.grid[1].gamma", [0.0, 1.0e-4, 1.0e-4]),
        "methods.psg.grid[1].gamma",
    ),
    (
        "override-grid-repeat",
        _set("datasets.digits_scanners.method_settings.psg.grid[0].phi", [1.0, 1.0]),
        "datasets.digits_scanners.method_settings.psg.grid[0].phi",
    ),
    ("tsne-repeat", _tsne_twice, "report.tsne"),
    (
        "threshold-columns-repeat",
        _scanner_condition(
            {
                "kind": "metadata_threshold",
                "columns": ["scanner", "scanner"],
                "op": ">",
                "threshold": 1,
            }
        ),
        "datasets.digits_scanners.conditions.bad.columns",
    ),
    # an option that cannot act must not be accepted
    (
        "resnet18-width",
        _set("datasets.digits.model", {"architecture": "resnet18", "width_factor": 0.25}),
        "datasets.digits.model.width_factor",
    ),
    (
        "resnet50-width",
        _set("datasets.digits.model", {"architecture": "resnet50", "width_factor": 2}),
        "datasets.digits.model.width_factor",
    ),
]


def _imagefolder(**keys: str) -> Callable[[dict], None]:
    """The digits entry as an image folder, ``root`` a real folder unless ``keys`` say else."""

    def edit(config: dict) -> None:
        digits = config["datasets"]["digits"]
        digits["source"] = "imagefolder"
        digits["imagefolder"] = {"root": str(ROOT / "config"), **keys}

    return edit


def _raw_root(path: str) -> Callable[[dict], None]:
    def edit(config: dict) -> None:
        digits = config["datasets"]["digits"]
        digits.update(source="torchvision", name="mnist", raw_root=path, download=False)

    return edit


CONFIG_CASES += [
    # every path the config names exists before any job runs
    (
        "import-missing",
        _set("datasets.digits.original", {"checkpoint": "no/such/model.pt"}),
        "'datasets.digits.original.checkpoint' names 'no/such/model.pt', which does not exist",
    ),
    (
        "import-is-a-folder",
        _set("datasets.digits.original", {"checkpoint": str(ROOT / "config")}),
        "'datasets.digits.original.checkpoint'",
    ),
    ("image-root-missing", _imagefolder(root="no/such/images"), "datasets.digits.imagefolder.root"),
    (
        "image-root-is-a-file",
        _imagefolder(root=str(ROOT / "README.md")),
        "datasets.digits.imagefolder.root",
    ),
    (
        "labels-csv-missing",
        _imagefolder(labels_csv="no/labels.csv"),
        "datasets.digits.imagefolder.labels_csv",
    ),
    (
        "metadata-csv-missing",
        _imagefolder(metadata_csv="no/metadata.csv"),
        "datasets.digits.imagefolder.metadata_csv",
    ),
    ("raw-root-missing", _raw_root("no/such/raw"), "'datasets.digits.raw_root'"),
]


def _cifar_reference_attack(values: list) -> Callable[[dict], None]:
    """The digits entry as (colour) CIFAR-10, and a reference-formulation psg setting."""

    def edit(config: dict) -> None:
        _raw_root(str(ROOT / "config"))(config)
        config["datasets"]["digits"]["name"] = "cifar10"
        config["methods"]["psg"]["grid"].append(
            {"formulation": ["reference"], "steps": [1], "step_size": [None], "attack_mean": values}
        )

    return edit


GREY_RGB = {"mean": [0.5] * 3, "std": [0.25] * 3}
CONFIG_CASES += [
    # a value is named where it is written: a grid entry, a dataset's override
    (
        "grid-bad-value",
        _set("methods.finetune.grid", {"lr": [0.1, -1.0]}),
        "methods.finetune.grid.lr[1]",
    ),
    (
        "grid-list-bad-value",
        _set("methods.psg.grid[0].gamma", [0.0, -1.0]),
        "'methods.psg.grid[0].gamma[1]' must be a number >= 0",
    ),
    (
        "grid-unknown-key",
        _set("methods.finetune.grid", {"lrr": [0.1]}),
        "'methods.finetune.grid.lrr' is not a hyperparameter",
    ),
    (
        "override-params-bad-value",
        _set("datasets.digits.method_settings", {"finetune": {"params": {"lr": -1.0}}}),
        "'datasets.digits.method_settings.finetune.params.lr' must be a number > 0",
    ),
    (
        "override-grid-bad-value",
        _set("datasets.digits.method_settings", {"finetune": {"grid": {"epochs": [1, -3]}}}),
        "datasets.digits.method_settings.finetune.grid.epochs[1]",
    ),
    (
        "override-unknown-key",
        _set("datasets.digits.method_settings", {"finetune": {"params": {"lrr": 1.0}}}),
        "'datasets.digits.method_settings.finetune.params.lrr' is not a hyperparameter",
    ),
    # seeds every job would fail on
    ("seed-2-to-the-64", _set("seeds", [2**64]), "'seeds[0]' is 18446744073709551616"),
    ("seed-2-to-the-32", _set("seeds", [0, 2**32]), "'seeds[1]'"),
    # per-channel values with one value per channel, where the source says how many
    (
        "model-normalization-rgb-on-grey",
        _set("datasets.digits.model.normalization", GREY_RGB),
        "'datasets.digits.model.normalization.mean' has 3 value(s)",
    ),
    (
        "import-normalization-rgb-on-grey",
        _set(
            "datasets.digits.original",
            {"checkpoint": str(ROOT / "README.md"), "normalization": GREY_RGB},
        ),
        "'datasets.digits.original.normalization.mean' has 3 value(s)",
    ),
    (
        "attack-mean-grey-on-colour",
        _cifar_reference_attack([[0.5]]),
        "'methods.psg.grid[2].attack_mean[0]' has 1 value(s) but dataset 'digits' has colour",
    ),
]


def _config_case(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        config = default_config()
        edit(config)
        check_config(apply_schema(config))

    return run


# --- config files -----------------------------------------------------------------------------


def _config_file(text: str, name: str = "user.yaml") -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        path = tmp_path / name
        path.write_text(text)
        check_config_file(path)

    return run


FILE_CASES = [
    (
        "duplicate-top-key",
        _config_file("seeds: [0]\nseeds: [1]\n"),
        ["user.yaml", "'seeds'", "lines 1 and 2"],
    ),
    (
        "duplicate-nested-key",
        _config_file("datasets:\n  d:\n    train:\n      lr: 0.1\n      epochs: 2\n      lr: 1\n"),
        ["user.yaml", "'datasets.d.train.lr'", "lines 4 and 6"],
    ),
    (
        "duplicate-key-flow-mapping",
        _config_file("conditions:\n  c: {kind: class, class: 1, class: 2}\n"),
        ["user.yaml", "'conditions.c.class'", "line 2"],
    ),
    (
        "duplicate-key-in-list-item",
        _config_file("report:\n  tsne:\n    - {dataset: a, method: psg, method: ssd}\n"),
        ["user.yaml", "'report.tsne[0].method'", "line 3"],
    ),
    (
        "duplicate-key-json",
        _config_file('{"seeds": [0], "threads": 1, "seeds": [2]}', "user.json"),
        ["user.json", "'seeds'"],
    ),
    (
        "yaml-syntax-error",
        _config_file("seeds: [0\nthreads: 1\n"),
        ["user.yaml", "line 2", "not valid YAML"],
    ),
    (
        "yaml-tab-indentation",
        _config_file("seeds:\n\t- 0\n"),
        ["user.yaml", "line 2, column 1", "'\\t'"],
    ),
]


# --- forget conditions ------------------------------------------------------------------------


def prepared(folder: Path, classes: list[str], n: int = 30, size: int = 4) -> Path:
    labels = np.arange(n) % len(classes)
    partition = np.where(np.arange(n) % 7 == 3, PARTITIONS["test"], PARTITIONS["train"])
    images = (np.arange(n * size * size).reshape(n, 1, size, size) * 37 % 256).astype(np.uint8)
    write_prepared(folder, images, labels, partition.astype(np.uint8), classes, source="test")
    return folder


def _condition(classes: list[str], condition: dict) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        data = load_prepared(prepared(tmp_path / "data", classes))
        make_split("forget", condition, data, seed=0)

    return run


NUMERIC = ["1", "2", "3"]  # class folders 1/ 2/ 3/
CONDITION_CASES = [
    # an integer that is no class name is ambiguous where the names are numbers
    (
        "numeric-names-class-0",
        _condition(NUMERIC, {"kind": "class", "class": 0}),
        ["'forget'", "class 0", "['1', '2', '3']"],
    ),
    (
        "numeric-names-fraction",
        _condition(NUMERIC, {"kind": "class_fraction", "class": 0, "fraction": 0.5}),
        ["'forget'", "class 0", "names are numbers"],
    ),
    (
        "mixed-names-index",
        _condition(["0", "1", "other"], {"kind": "class", "class": 2}),
        ["'forget'", "class 2", "'other'"],
    ),
    (
        "bool-class",
        _condition(["a", "b"], {"kind": "class", "class": True}),
        ["'forget'", "class True"],
    ),
]


# --- data files -------------------------------------------------------------------------------


def _mnist(edit: Callable[[Path], None]) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        write_mnist(tmp_path / "raw")
        edit(tmp_path / "raw" / "MNIST" / "raw")
        prepare_torchvision("mnist", tmp_path / "out", tmp_path / "raw", False, 0.25, 3)

    return run


def _patch_magic(name: str, magic: int) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        blob = bytearray((folder / name).read_bytes())
        blob[:4] = struct.pack(">i", magic)
        (folder / name).write_bytes(bytes(blob))

    return edit


def _drop_last_label(folder: Path) -> None:
    path = folder / "train-labels-idx1-ubyte"
    blob = path.read_bytes()
    n = struct.unpack(">i", blob[4:8])[0]
    path.write_bytes(struct.pack(">ii", 2049, n - 1) + blob[8:-1])


def _truncate(folder: Path) -> None:
    path = folder / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])


def _medmnist(drop: str) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        write_npz(tmp_path / "raw" / "retinamnist.npz", drop=drop)
        prepare_medmnist("retinamnist", tmp_path / "out", tmp_path / "raw", False, 28)

    return run


def _medmnist_objects(tmp_path: Path) -> None:
    """An archive whose labels are Python objects: loading them would unpickle."""
    arrays = write_npz(tmp_path / "raw" / "retinamnist.npz")
    arrays["val_labels"] = np.array([[int(v)] for v in arrays["val_labels"][:, 0]], dtype=object)
    np.savez(tmp_path / "raw" / "retinamnist.npz", **arrays)
    prepare_medmnist("retinamnist", tmp_path / "out", tmp_path / "raw", False, 28)


def bomb_png(path: Path, side: int = 30_000) -> None:
    """A PNG of a few bytes whose header announces side x side pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    path.parent.mkdir(parents=True, exist_ok=True)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def _small_tree(root: Path) -> None:
    for cls in ("a", "b"):
        for j in range(3):
            (root / cls).mkdir(parents=True, exist_ok=True)
            Image.new("L", (8, 8), 40 * j).save(root / cls / f"{j}.png")


def _bomb(tmp_path: Path) -> None:
    _small_tree(tmp_path / "images")
    bomb_png(tmp_path / "images" / "b" / "huge.png")
    prepare_imagefolder(tmp_path / "out", root=tmp_path / "images", **TINY_FOLDER)


def _labels_csv(entry: Callable[[Path], str]) -> Callable[[Path], None]:
    """A labels CSV whose third row names ``entry(tmp_path)``, a file that exists."""

    def run(tmp_path: Path) -> None:
        root = tmp_path / "images"
        _small_tree(root)
        Image.new("L", (8, 8), 9).save(tmp_path / "outside.png")
        rows = ["path,label", "a/0.png,a", entry(tmp_path) + ",b", "b/1.png,b"]
        (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
        prepare_imagefolder(
            tmp_path / "out",
            root=root,
            labels_csv=tmp_path / "labels.csv",
            **TINY_FOLDER,
        )

    return run


IDX = "MNIST/raw/"
DATA_CASES = [
    (
        "idx-images-magic",
        _mnist(_patch_magic("train-images-idx3-ubyte", 1234)),
        [IDX + "train-images-idx3-ubyte", "magic number 1234"],
    ),
    (
        "idx-labels-magic",
        _mnist(_patch_magic("t10k-labels-idx1-ubyte", 2051)),
        [IDX + "t10k-labels-idx1-ubyte", "magic number 2051"],
    ),
    (
        "idx-label-count",
        _mnist(_drop_last_label),
        [IDX + "train-labels-idx1-ubyte", "39 labels", "40 images"],
    ),
    ("idx-truncated", _mnist(_truncate), [IDX + "t10k-images-idx3-ubyte", "bytes"]),
    ("medmnist-no-val-labels", _medmnist("val_labels"), ["retinamnist.npz", "val_labels"]),
    ("medmnist-no-train-labels", _medmnist("train_labels"), ["retinamnist.npz", "train_labels"]),
    ("medmnist-no-test-images", _medmnist("test_images"), ["retinamnist.npz", "test_images"]),
    ("medmnist-object-array", _medmnist_objects, ["retinamnist.npz", "val_labels", "dtype object"]),
    ("png-decompression-bomb", _bomb, ["images/b/huge.png", "downscale"]),
    (
        "labels-csv-dotdot",
        _labels_csv(lambda tmp: "../outside.png"),
        ["labels.csv", "row 3", "'../outside.png'"],
    ),
    (
        "labels-csv-nested-dotdot",
        _labels_csv(lambda tmp: "a/../../outside.png"),
        ["labels.csv", "row 3", "outside the image folder"],
    ),
    (
        "labels-csv-backslash-dotdot",
        _labels_csv(lambda tmp: "..\\outside.png"),
        ["labels.csv", "row 3", "outside the image folder"],
    ),
    (
        "labels-csv-absolute",
        _labels_csv(lambda tmp: str(tmp / "outside.png")),
        ["labels.csv", "row 3", "outside the image folder"],
    ),
]


# --- checkpoints ------------------------------------------------------------------------------

DESCRIPTION = {
    "architecture": "allcnn",
    "num_classes": 3,
    "in_channels": 1,
    "image_size": 8,
    "mean": [0.5],
    "std": [0.25],
    "width_factor": 0.25,
}


def _allcnn_of_width(tmp_path: Path) -> None:
    model = build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.5)
    torch.save(model.state_dict(), tmp_path / "own.pt")
    import_original(tmp_path / "own.pt", DESCRIPTION)


def _resnet_stem(tmp_path: Path) -> None:
    torch.save(torchvision.models.resnet18(num_classes=3).state_dict(), tmp_path / "own.pt")
    description = {
        **DESCRIPTION,
        "architecture": "resnet18",
        "in_channels": 3,
        "image_size": 32,
        "mean": [0.5] * 3,
        "std": [0.25] * 3,
        "width_factor": 1.0,
    }
    import_original(tmp_path / "own.pt", description)


def _allcnn_as_resnet(tmp_path: Path) -> None:
    torch.save(
        build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.25).state_dict(), tmp_path / "own.pt"
    )
    import_original(
        tmp_path / "own.pt", {**DESCRIPTION, "architecture": "resnet18", "width_factor": 1.0}
    )


def _resnet_width(tmp_path: Path) -> None:
    build_model("resnet18", 3, 1, 16, [0.5], [0.25], width_factor=0.25)


MODEL_CFG = {"architecture": "allcnn", "width_factor": 0.25, "dropout": 0.0}


def _nan_outputs(model: torch.nn.Module) -> torch.nn.Module:
    """Finite weights, NaN logits: a negative running variance, as a diverged step leaves it."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.fill_(-1.0)
    return model


def _run_folder(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Prepared 8x8 images of three classes, a split forgetting class 'a', and an original."""
    data = prepared(tmp_path / "data", ["a", "b", "c"], n=60, size=8)
    split = tmp_path / "split.json"
    data_steps.make_split(data, "forget_a", {"kind": "class", "class": "a"}, 0, split)
    original = tmp_path / "original" / "model.pt"
    model = build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.25)
    save_checkpoint(original, model, {**DESCRIPTION, "kind": "original"})
    return data, split, original


def _import_scaled(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        data = prepared(tmp_path / "data", ["a", "b", "c"], n=60, size=8)
        model = build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.25)
        state = model.state_dict()
        edit(state)
        torch.save(state, tmp_path / "own.pt")
        out = tmp_path / "out"
        train_step.import_original(
            data, tmp_path / "own.pt", MODEL_CFG, None, out / "model.pt", out / "run.json"
        )

    return run


def _times_1e30(state: dict) -> None:
    state["head.weight"] *= 1e30


def _negative_variance(state: dict) -> None:
    for key in state:
        if key.endswith("running_var"):
            state[key].fill_(-1.0)


def _train_nan_outputs(tmp_path: Path) -> None:
    data = prepared(tmp_path / "data", ["a", "b", "c"], n=60, size=8)
    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "unlearning.steps.train.train_classifier", lambda model, *a, **k: _nan_outputs(model)
        )
        train_step.train(
            data, None, MODEL_CFG, {"epochs": 1}, 0, "cpu", out / "model.pt", out / "run.json"
        )


def _unlearn_nan_outputs(tmp_path: Path) -> None:
    data, split, original = _run_folder(tmp_path)
    out = tmp_path / "out"
    module = get_method("grad_ascent").module
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "run", lambda task, params: _nan_outputs(task.model))
        unlearn_step.unlearn(
            data,
            split,
            original,
            unlearn_step.MethodSetting("grad_ascent", "lr=10", {"lr": 10.0}),
            0,
            "cpu",
            out / "model.pt",
            out / "run.json",
            progress=False,
        )


def _evaluate_nan_outputs(tmp_path: Path) -> None:
    data, split, _ = _run_folder(tmp_path)
    model = _nan_outputs(build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.25))
    folder = tmp_path / "retrain"
    save_checkpoint(folder / "model.pt", model, {**DESCRIPTION, "kind": "retrain"})
    (folder / "run.json").write_text(json.dumps({"kind": "retrain", "seconds": 1.0}))
    identity = {
        "dataset": "data",
        "seed": 0,
        "condition": "forget_a",
        "method": "retrain",
        "setting": "-",
        "model_kind": "retrain",
    }
    evaluation = evaluate_step.Evaluation(
        identity, tmp_path / "out" / "metrics.json", "entropy", "svc", 64, 0
    )
    evaluate_step.evaluate(data, split, folder / "model.pt", folder / "run.json", "cpu", evaluation)


def _import_rgb_normalization_on_grey(tmp_path: Path) -> None:
    data = prepared(tmp_path / "data", ["a", "b", "c"], n=60, size=8)
    torch.save(
        build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.25).state_dict(), tmp_path / "own.pt"
    )
    out = tmp_path / "out"
    train_step.import_original(
        data, tmp_path / "own.pt", MODEL_CFG, GREY_RGB, out / "model.pt", out / "run.json"
    )


def _disk_full(tmp_path: Path) -> None:
    """Every write fails as on a full disk."""

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "write_bytes", full)
        model = build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.25)
        save_checkpoint(tmp_path / "out" / "model.pt", model, DESCRIPTION)


CHECKPOINT_CASES = [
    (
        "import-rgb-normalization-on-grey",
        _import_rgb_normalization_on_grey,
        ["datasets.data.original.normalization.mean has 3 values", "1 channel"],
    ),
    ("disk-full", _disk_full, ["No space left on the disk holding", "out/model.pt"]),
    (
        "import-overflowing-outputs",
        _import_scaled(_times_1e30),
        ["own.pt", "logits as large as", "training images"],
    ),
    (
        "import-nan-outputs",
        _import_scaled(_negative_variance),
        ["own.pt", "NaN or infinite logits"],
    ),
    (
        "train-nan-outputs",
        _train_nan_outputs,
        ["original model of dataset data", "NaN or infinite logits", "datasets.data.train.lr"],
    ),
    (
        "unlearn-nan-outputs",
        _unlearn_nan_outputs,
        ["Unlearning grad_ascent/lr=10", "NaN or infinite logits", "forget images", "lr=10"],
    ),
    (
        "evaluate-nan-outputs",
        _evaluate_nan_outputs,
        ["retrain model of dataset data", "NaN or infinite logits", "datasets.data.train.lr"],
    ),
    ("checkpoint-other-width", _allcnn_of_width, ["own.pt", "width_factor to 0.5"]),
    ("checkpoint-other-stem", _resnet_stem, ["own.pt", "image_size", "features.conv1.weight"]),
    ("checkpoint-other-architecture", _allcnn_as_resnet, ["own.pt", "architecture", "lacks"]),
    ("build-resnet-width", _resnet_width, ["width_factor 0.25", "resnet18"]),
]


# --- method parameters ------------------------------------------------------------------------


def _params(method: str, params: dict) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        parse_params(method, params)

    return run


PARAMS_CASES = [
    ("string-nan", _params("psg", {"gamma": "nan"}), ["methods.psg.params.gamma", "finite"]),
    ("string-inf-int", _params("cf_k", {"k": "inf"}), ["methods.cf_k.params.k", "finite"]),
]


# --- the table --------------------------------------------------------------------------------

CASES = (
    [
        pytest.param(_config_case(edit), [key], id=f"config-{name}")
        for name, edit, key in CONFIG_CASES
    ]
    + [pytest.param(run, names, id=f"file-{name}") for name, run, names in FILE_CASES]
    + [pytest.param(run, names, id=f"params-{name}") for name, run, names in PARAMS_CASES]
    + [pytest.param(run, names, id=f"condition-{name}") for name, run, names in CONDITION_CASES]
    + [pytest.param(run, names, id=f"data-{name}") for name, run, names in DATA_CASES]
    + [pytest.param(run, names, id=f"checkpoint-{name}") for name, run, names in CHECKPOINT_CASES]
)


@pytest.mark.parametrize(("run", "names"), CASES)
def test_bad_input_is_refused_in_one_sentence(tmp_path, run, names):
    with pytest.raises(UserError) as info:
        run(tmp_path)
    message = str(info.value)
    for name in names:
        assert name in message, (name, message)
    assert_one_sentence(message)
    assert_nothing_left(tmp_path / "out")


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def work(tmp_path):
    """A copy of the workflow, without results, to run ``snakemake -n`` in."""
    return copy_workflow(tmp_path / "work")


def dry_run(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", *args],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _tiny(edit: Callable[[dict], None]) -> Callable[[Path], list[str]]:
    def setup(work: Path) -> list[str]:
        config = json.loads(json.dumps(TINY))
        edit(config)
        return ["--configfile", write_config(work, "bad.yaml", config)]

    return setup


def _text(text: str) -> Callable[[Path], list[str]]:
    def setup(work: Path) -> list[str]:
        (work / "bad.yaml").write_text(text)
        return ["--configfile", "bad.yaml"]

    return setup


def _twice(text: str, line: str, again: str) -> str:
    """``text`` with ``again`` written after the first ``line``, at the same indentation."""
    match = re.search(rf"^( *){re.escape(line)}\n", text, flags=re.M)
    assert match, line
    return text[: match.end()] + match.group(1) + again + "\n" + text[match.end() :]


def _default_config_twice(work: Path) -> list[str]:
    path = work / "config" / "config.yaml"
    text = path.read_text()
    # The first epochs line is datasets.digits.train.epochs, whatever its value.
    first_epochs = re.search(r"^ *(epochs: \d+)\n", text, flags=re.M).group(1)
    path.write_text(_twice(text, first_epochs, "epochs: 1"))
    return []


def _default_config_unclosed(work: Path) -> list[str]:
    path = work / "config" / "config.yaml"
    path.write_text(path.read_text().replace("seeds: [0]", "seeds: [0", 1))
    return []


TINY_YAML = yaml.safe_dump(TINY, sort_keys=False)
CLI_CASES = [
    ("nan-lr", _tiny(_set("datasets.digits.train.lr", NAN)), ["datasets.digits.train.lr", "nan"]),
    (
        "inf-by-overflow",
        _text(TINY_YAML.replace("lr: 0.05", "lr: 1.0e+400", 1)),
        ["datasets.digits.train.lr", "inf"],
    ),
    ("seeds-repeat", _tiny(_set("seeds", [0, 0])), ["'seeds'", "non-unique"]),
    ("seed-too-large", _tiny(_set("seeds", [2**64])), ["'seeds[0]'", "2**32 - 1"]),
    (
        "override-grid-value",
        _tiny(_set("datasets.digits.method_settings", {"psg": {"grid": {"epsilon": [0.1, -1]}}})),
        ["datasets.digits.method_settings.psg.grid.epsilon[1]"],
    ),
    (
        "duplicate-key",
        _text(_twice(TINY_YAML, "batch_size: 64", "batch_size: 8")),
        ["bad.yaml", "batch_size", "twice"],
    ),
    (
        "duplicate-key-default-config",
        _default_config_twice,
        ["config/config.yaml", "'datasets.digits.train.epochs'", "twice"],
    ),
    (
        "yaml-syntax-default-config",
        _default_config_unclosed,
        ["config/config.yaml", "not valid YAML at line"],
    ),
    (
        "import-missing",
        _tiny(_set("datasets.digits.original", {"checkpoint": "missing.pt"})),
        ["datasets.digits.original.checkpoint", "'missing.pt'", "does not exist"],
    ),
    (
        "resnet-width",
        _tiny(_set("datasets.digits.model", {"architecture": "resnet18", "width_factor": 0.5})),
        ["datasets.digits.model.width_factor"],
    ),
]


def _error_line(output: str, names: list[str]) -> str:
    lines = [line for line in output.splitlines() if all(name in line for name in names)]
    assert lines, output[-3000:]
    return lines[0]


def _assert_no_output(work: Path) -> None:
    for folder in ("results", "resources", "logs", "benchmarks"):
        assert not (work / folder).exists(), folder


@pytest.mark.parametrize(
    ("setup", "names"), [pytest.param(s, n, id=f"cli-{name}") for name, s, n in CLI_CASES]
)
def test_bad_config_on_the_command_line_stops_before_any_job(work, setup, names):
    result = dry_run(work, *setup(work))
    output = result.stdout + result.stderr  # a dry run logs its errors to stdout
    assert result.returncode != 0
    assert "Traceback" not in output, output[-3000:]
    assert_one_sentence(_error_line(output, names))
    _assert_no_output(work)


# Snakemake reads --configfile files itself, before the workflow's code runs: a missing file ends
# in its traceback, and a YAML syntax error in a message that names neither file nor line. Both
# still stop before any job; the strict xfails mark what only Snakemake can improve.
SNAKEMAKE_FIRST = [
    pytest.param(
        lambda work: ["--configfile", "missing.yaml"], "missing.yaml", id="cli-missing-file"
    ),
    pytest.param(_text("seeds: [0\nthreads: 1\n"), "bad.yaml", id="cli-yaml-syntax"),
]


@pytest.mark.parametrize(("setup", "name"), SNAKEMAKE_FIRST)
def test_unreadable_configfile_stops_before_any_job(work, setup, name):
    result = dry_run(work, *setup(work))
    assert result.returncode != 0
    _assert_no_output(work)


@pytest.mark.xfail(strict=True, reason="Snakemake loads --configfile before the workflow runs")
@pytest.mark.parametrize(("setup", "name"), SNAKEMAKE_FIRST)
def test_unreadable_configfile_is_named_in_one_sentence(work, setup, name):
    result = dry_run(work, *setup(work))
    output = result.stdout + result.stderr
    assert "Traceback" not in output and name in output


# --- what the rules above must still accept ---------------------------------------------------


def test_the_shipped_configs_pass_every_check():
    for name in ("config.yaml", "paper.yaml"):
        check_config_file(ROOT / "config" / name)
        config = yaml.safe_load((ROOT / "config" / name).read_text())
        check_config(apply_schema(config))


def test_a_key_next_to_a_merge_overrides_it(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("x: &train {epochs: 2, lr: 0.1}\ntrain: {<<: *train, epochs: 5}\n")
    check_config_file(path)  # YAML's own override, not a duplicate


def test_a_class_value_names_the_class_not_its_index(tmp_path):
    data = load_prepared(prepared(tmp_path / "data", NUMERIC))
    for value, index in ((1, 0), ("2", 1), (3, 2)):
        split = make_split("c", {"kind": "class", "class": value}, data, seed=0)
        assert split["forget_class"] == {"index": index, "name": NUMERIC[index]}
        assert set(data.part_labels("train")[split["train_forget"]]) == {index}


def test_digit_names_equal_their_indices_so_the_default_is_unchanged(tmp_path):
    data = load_prepared(prepared(tmp_path / "data", [str(c) for c in range(10)], n=100))
    for value in (0, 7, "7"):
        split = make_split("c", {"kind": "class", "class": value}, data, seed=0)
        assert split["forget_class"]["index"] == int(value)


def test_an_integer_is_an_index_where_no_class_name_is_a_number(tmp_path):
    data = load_prepared(prepared(tmp_path / "data", ["cat", "dog", "eel"]))
    split = make_split("c", {"kind": "class_fraction", "class": 1, "fraction": 0.5}, data, seed=0)
    assert split["forget_class"] == {"index": 1, "name": "dog"}
    meta = make_split("c", {"kind": "class", "class": "eel"}, data, seed=0)
    assert meta["forget_class"] == {"index": 2, "name": "eel"}


def test_the_split_logs_the_chosen_class(tmp_path, caplog):
    data = load_prepared(prepared(tmp_path / "data", NUMERIC))
    with caplog.at_level(logging.INFO):
        make_split("forget_one", {"kind": "class", "class": 1}, data, seed=0)
    assert "Condition 'forget_one' forgets class '1' (index 0)." in caplog.text


def test_class_folders_named_by_numbers_forget_the_named_folder(tmp_path):
    root = tmp_path / "images"
    for cls in ("1", "2", "3"):
        (root / cls).mkdir(parents=True)
        for j in range(5):
            Image.new("L", (8, 8), 50 * int(cls)).save(root / cls / f"{j}.png")
    prepare_imagefolder(tmp_path / "data", root=root, **TINY_FOLDER)
    data = load_prepared(tmp_path / "data")
    split = make_split("c", {"kind": "class", "class": 1}, data, seed=0)
    images = data.images[data.indices("train")[split["train_forget"]]]
    assert split["forget_class"]["name"] == "1" and (images == 50).all()


def test_a_large_image_is_decoded_and_its_file_named_in_the_log(tmp_path, monkeypatch, caplog):
    path = tmp_path / "big.png"
    Image.new("L", (40, 40), 7).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1,600 pixels: over, not twice over
    with caplog.at_level(logging.WARNING):
        assert (load_image(path, 8, 1, "resize") == 7).all()
    assert str(path) in caplog.text


def test_class_names_compare_after_nfc_normalisation(tmp_path):
    """ "café" typed in the config (NFC) names the folder "café" macOS wrote (NFD)."""
    nfd = unicodedata.normalize("NFD", "café")
    data = load_prepared(prepared(tmp_path / "data", ["tea", nfd]))
    split = make_split(
        "c", {"kind": "class", "class": unicodedata.normalize("NFC", "café")}, data, 0
    )
    assert split["forget_class"] == {"index": 1, "name": nfd}


def test_a_full_disk_outside_the_writers_is_one_sentence(capsys):
    def work():
        raise OSError(errno.ENOSPC, "No space left on device", "results/x/model.pt")

    with pytest.raises(SystemExit) as stopped:
        run_step("unlearn psg/default", work, log_path=None)
    assert stopped.value.code == 1
    message = capsys.readouterr().err.strip().splitlines()[-1]  # after the log's first line
    assert message.startswith("error in unlearn psg/default: No space left on the disk holding")
    assert "results/x/model.pt" in message
    assert_one_sentence(message.removeprefix("error in unlearn psg/default: "))


def test_a_configfile_can_be_checked_before_snakemake_reads_it(work):
    """Snakemake's own loader names neither file nor line; the check it is pointed to does."""
    _text("seeds: [0\nthreads: 1\n")(work)
    result = subprocess.run(
        [sys.executable, "-m", "unlearning.config_load", "bad.yaml"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert_one_sentence(_error_line(result.stderr, ["bad.yaml", "line 2, column 8"]))


# --- accepted with a warning ------------------------------------------------------------------


def _tiny_fraction(tmp_path: Path) -> None:
    data = load_prepared(prepared(tmp_path / "data", ["a", "b"], n=60))
    make_split("few", {"kind": "class_fraction", "class": "a", "fraction": 0.05}, data, seed=0)


def _tiny_random(tmp_path: Path) -> None:
    data = load_prepared(prepared(tmp_path / "data", ["a", "b"], n=60))
    make_split("few", {"kind": "random", "fraction": 0.02}, data, seed=0)


def _one_pixel_images(tmp_path: Path) -> None:
    root = tmp_path / "images"
    _small_tree(root)
    Image.new("L", (1, 1), 200).save(root / "a" / "dot.png")
    prepare_imagefolder(tmp_path / "out", root=root, **{**TINY_FOLDER, "image_size": 16})


def _unused_override(tmp_path: Path) -> None:
    config = default_config()
    config["datasets"]["digits"]["methods"] = ["psg", "finetune"]
    config["datasets"]["digits"]["method_settings"] = {"ssd": {"params": {"alpha": 5.0}}}
    apply_schema(config)
    for message in config_warnings(config, check_config(config)):
        logging.getLogger("unlearning").warning(message)


WARNING_CASES = [
    ("fraction-rounds-to-one", _tiny_fraction, ["'few'", "fraction 0.05", "1 image(s)"]),
    ("random-fraction-rounds-to-two", _tiny_random, ["'few'", "fraction 0.02", "fewer than 5"]),
    ("one-pixel-image-upscaled", _one_pixel_images, ["1 of 7 images", "dot.png", "1x1 px"]),
    (
        "override-of-a-method-not-run",
        _unused_override,
        ["datasets.digits.method_settings.ssd is not used", "does not run ssd"],
    ),
]


@pytest.mark.parametrize(
    ("run", "names"), [pytest.param(r, n, id=f"warning-{name}") for name, r, n in WARNING_CASES]
)
def test_doubtful_input_is_accepted_with_a_warning(tmp_path, caplog, run, names):
    with caplog.at_level(logging.WARNING):
        run(tmp_path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    for name in names:
        assert name in warnings[0], (name, warnings[0])
    assert_one_sentence(warnings[0])


def test_job_warnings_are_marked_in_the_log_and_collected_at_the_end(tmp_path):
    log_path = tmp_path / "logs" / "make_split" / "few.log"
    started = time.time() - 1
    with pytest.raises(SystemExit):  # run_step ends the process; here it exits on the error
        run_step("make_split few", lambda: _tiny_fraction(tmp_path) or _fail(), log_path=log_path)
    found = run_warnings.collect(tmp_path / "logs", started)
    assert len(found) == 1 and found[0].startswith("Condition 'few': fraction 0.05")
    assert found[0].endswith(f"({log_path})")
    assert run_warnings.collect(tmp_path / "logs", time.time() + 60) == []


def _fail() -> None:
    raise UserError("stop here; the test ends the step without ending the process.")
