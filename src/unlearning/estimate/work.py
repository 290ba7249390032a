"""Each planned job counted in images through the model (torch-free).

A *training image* is one image forward and backward with an optimizer step (at the batch size
the job trains with); an *evaluation image* is one image forward without gradients. The counts
follow the loops of ``training.py``, ``methods/*.py`` and ``metrics/evaluate.py``:

- ``train_original``: epochs × training images; ``train_retrain``: epochs × (training − forget).
- ``evaluate_*``: every image of the set once (train, validation and test subsets), plus D_f once
  per retrain reference (JS divergence to each).
- ``unlearn``: the method's passes (below) plus the evaluation of its model.
  psg and boundary_shrink: epochs × |D_f| × (1 + steps of the boundary search, each a forward and
  an input gradient of the frozen original) × 2 when a remain batch is drawn (φ > 0); forget-set
  methods (grad_ascent, boundary_expand): epochs × |D_f|; remain-set methods (finetune,
  l1_sparse, cf_k, eu_k, neggrad, compose): epochs × |D_r|; random_label and salun: a remain
  batch beside each forget batch (×2), salun one more pass over D_f for its mask; scrub(_r):
  max_steps × |D_f| + epochs × |D_r|, each with a teacher forward; ssd: one gradient pass over
  the training set (or ``max_samples``) and one over D_f; bad_teacher: epochs × (|D_f| +
  remain_fraction × |D_r|), with two teacher forwards.
- light jobs (data preparation, splits, tables, figures, t-SNE) cost a start-up and a few seconds.

Counts are approximate by design (data-dependent early exits, per-class bookkeeping and the MIA's
small SVC are left out); the estimate's measured error is in config/README.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Torchvision sets: (train, test, classes, channels, image size); val is taken from train.
TORCHVISION = {
    "mnist": (60000, 10000, 10, 1, 28),
    "fashionmnist": (60000, 10000, 10, 1, 28),
    "cifar10": (50000, 10000, 10, 3, 32),
    "svhn": (73257, 26032, 10, 3, 32),
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"}
#: A forward pass costs about this fraction of a training step (forward, backward, update) when
#: it is not measured: used only for the inner boundary search's input gradient.
INPUT_GRADIENT_FRACTION = 0.7
#: Seconds of work of a light job besides its start-up, and of a figure (drawing and saving).
LIGHT_JOB_S = 1.0
FIGURE_S = 1.5
#: Figures drawn per condition (methods, per_class, losses, lambda_gamma ×2, floor, composition)
FIGURES_PER_CONDITION = 7
TSNE_S = 8.0
#: A job that imports no torch starts in about this share of the time of one that does.
LIGHT_STARTUP = 0.3


@dataclass
class DataSize:
    """Sizes of one dataset, exact when it is prepared, else from the source's known sizes."""

    train: int
    val: int
    test: int
    classes: int
    channels: int
    image_size: int
    forget: dict[str, int]  # condition -> |D_f|
    exact: bool

    @property
    def total(self) -> int:
        return self.train + self.val + self.test


def _count_folder(spec: dict[str, Any]) -> tuple[int, int]:
    """(images, classes) of an image folder, by counting files (or labels CSV rows)."""
    folder = spec.get("imagefolder") or {}
    if folder.get("labels_csv"):
        import pandas as pd

        labels = pd.read_csv(folder["labels_csv"])
        return len(labels), int(labels.iloc[:, -1].nunique())
    root = Path(folder.get("root", "."))
    classes = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
    count = sum(1 for d in classes for f in d.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
    return count, len(classes)


def _guess(spec: dict[str, Any]) -> tuple[int, int, int, int]:
    """(images, classes, channels, image size) of an unprepared dataset."""
    source = spec["source"]
    if source.startswith("sklearn_digits"):
        return 1797, 10, 1, spec.get("image_size", 16)
    if source == "torchvision":
        train, test, classes, channels, size = TORCHVISION[spec["name"]]
        return train + test, classes, channels, spec.get("image_size", size)
    if source == "imagefolder":
        count, classes = _count_folder(spec)
        channels = spec["imagefolder"]["channels"]
        return count, classes, channels, spec["image_size"]
    # medmnist: sizes vary by flag; a mid-sized set stands in until the data is prepared
    return 20000, 10, 3, spec.get("size", 28)


def _forget_guess(condition: dict[str, Any], train: int, classes: int) -> int:
    kind = condition.get("kind")
    if kind == "class":
        count = train / classes
    elif kind == "class_fraction":
        count = condition.get("fraction", 0.1) * train / classes
    elif kind == "random":
        pool = len(condition.get("classes") or []) or classes
        count = condition.get("fraction", 0.1) * train * pool / classes
    else:  # metadata: unknown until the data is prepared
        count = train / classes
    cap = condition.get("max_forget")
    return int(min(count, cap) if cap else count)


def data_size(dataset: str, spec: dict[str, Any], seed: int, root: str | Path = ".") -> DataSize:
    """The sizes of ``dataset``: from its prepared folder under ``root`` when prepared (forget
    sets drawn exactly as the split does), else guessed from the source."""
    from unlearning.data.prepared import load_prepared, prepared_dir

    folder = Path(root) / prepared_dir(dataset)
    conditions = spec.get("conditions") or {}
    if (folder / "info.json").exists():
        from unlearning.data.conditions import forget_mask

        data = load_prepared(folder)
        info, counts = data.info, data.info["counts"]
        forget = {
            name: len(forget_mask(name, condition, data, seed)[0])
            for name, condition in conditions.items()
        }
        return DataSize(
            counts["train"],
            counts["val"],
            counts["test"],
            info["num_classes"],
            info["channels"],
            info["image_size"],
            forget,
            True,
        )
    total, classes, channels, size = _guess(spec)
    val, test = spec["val_fraction"], spec["test_fraction"]
    train = int(total * (1 - val - test))
    forget = {name: _forget_guess(c, train, classes) for name, c in conditions.items()}
    return DataSize(
        train, int(total * val), int(total * test), classes, channels, size, forget, False
    )


@dataclass
class Work:
    """One job's work: training images at ``batch_size``, evaluation images, fixed seconds."""

    train_images: float = 0.0
    batch_size: int = 64
    eval_images: float = 0.0
    fixed_s: float = 0.0
    #: share of a torch job's measured start-up this job pays (pandas-only jobs start faster)
    startup_share: float = 1.0


def _method_images(method: str, params: Any, forget: int, remain: int, train: int) -> float:
    epochs = getattr(params, "epochs", 1)
    if method in ("psg", "boundary_shrink"):
        inner = 1 + INPUT_GRADIENT_FRACTION * getattr(params, "steps", 1)
        paired = 2 if getattr(params, "phi", 0.0) > 0 else 1
        return epochs * forget * inner * paired
    if method in ("grad_ascent", "boundary_expand"):
        return epochs * forget
    if method in ("random_label", "salun"):
        return epochs * 2 * forget + (forget if method == "salun" else 0)
    if method in ("scrub", "scrub_r"):
        teacher = 1 + 1 / 3
        return teacher * (min(params.max_steps, epochs) * forget + epochs * remain)
    if method == "ssd":
        cap = getattr(params, "max_samples", 0) or train
        return min(cap, train) + forget
    if method == "bad_teacher":
        return epochs * (forget + params.remain_fraction * remain) * (1 + 2 / 3)
    return epochs * remain  # finetune, l1_sparse, cf_k, eu_k, neggrad, compose, new methods


def job_work(job: Any, config: dict[str, Any], settings: dict[str, Any], sizes: dict) -> Work:
    """The work of one planned job (``job.rule`` and ``job.wildcards``)."""
    from unlearning.settings import retrain_count

    wc = job.wildcards
    rule = job.rule
    if rule == "make_split":  # numpy and JSON only: measured at a few tenths of a second
        return Work(fixed_s=0.3, startup_share=0.0)
    if rule in ("prepare_data", "aggregate_metrics", "summary_tables"):
        return Work(fixed_s=LIGHT_JOB_S, startup_share=LIGHT_STARTUP)
    if rule == "dataset_figures":
        spec = config["datasets"][wc["dataset"]]
        figures = FIGURES_PER_CONDITION * len(spec.get("conditions") or {})
        return Work(fixed_s=LIGHT_JOB_S + FIGURE_S * figures, startup_share=LIGHT_STARTUP)
    if rule == "embed_models":
        return Work(fixed_s=TSNE_S)
    dataset = wc.get("dataset")
    if dataset not in sizes:
        return Work(fixed_s=LIGHT_JOB_S, startup_share=LIGHT_STARTUP)
    size: DataSize = sizes[dataset]
    spec = config["datasets"][dataset]
    train_cfg = {"epochs": 15, "batch_size": 64, **(spec.get("train") or {})}
    forget = size.forget.get(wc.get("condition", ""), 0)
    remain = max(size.train - forget, 0)
    references = retrain_count(config, dataset, wc["condition"]) if "condition" in wc else 0
    evaluation = size.total + references * forget
    if rule == "train_original":
        return Work(train_cfg["epochs"] * size.train, train_cfg["batch_size"])
    if rule == "train_retrain":  # the same job evaluates the reference it trained
        return Work(train_cfg["epochs"] * remain, train_cfg["batch_size"], eval_images=size.total)
    if rule.startswith("evaluate"):
        return Work(eval_images=evaluation)
    if rule == "unlearn":
        from unlearning.methods import parse_params

        method = wc["method"]
        params = parse_params(method, settings[dataset][method][wc["setting"]])
        images = _method_images(method, params, forget, remain, size.train)
        batch = getattr(params, "batch_size", train_cfg["batch_size"])
        return Work(images, batch, eval_images=evaluation)
    return Work(fixed_s=LIGHT_JOB_S, startup_share=LIGHT_STARTUP)


def model_key(spec: dict[str, Any], size: DataSize, batch_size: int) -> tuple:
    """What a calibration depends on: architecture, width, channels, classes, image size and
    batch size (rounded up to a power of two, so a few batch sizes share one timing)."""
    model = spec["model"]
    batch = 2 ** math.ceil(math.log2(max(batch_size, 1)))
    return (
        model["architecture"],
        float(model["width_factor"]),
        size.channels,
        size.classes,
        size.image_size,
        batch,
    )
