"""A small synthetic results set in the on-disk formats the figure and table builders read.

One dataset ("toy", 4 classes), three seeds, a class condition and two class fractions of the same
class, a psg λ×γ grid, finetune, ssd and a compose series over fine-tuning epochs. Numbers are
deterministic and distinct, so tests can check that a table shows exactly what the CSV holds.

Column conventions (as written by the evaluation rules):
- identity: dataset, seed, condition, model_kind (original/retrain/unlearned), method, setting
  ("-" for the references), condition_kind, condition_class, condition_fraction (1.0 for a class);
- accuracies as fractions: acc_test, acc_forget, acc_remain (headline subsets), acc_test_forget,
  acc_test_remain, acc_train_forget, acc_train_remain, acc_val_forget, acc_val_remain,
  acc_class_<c> (test set, per class);
- mia_efficacy (+ mia_feature), loss_mia, gap_mean, distance, js_forget (NaN for references);
- unlearn_seconds, retrain_seconds, seconds_ratio;
- hp_<name>: the full resolved hyperparameters of an unlearned run (NaN/empty for others).

Per-sample losses live in ``losses.npz`` next to each metrics.json (arrays ``train_forget``,
``test_forget``, ``test_remain``; float32); t-SNE coordinates in ``tsne.npz`` next to the
unlearned run's metrics.json (``original``, ``retrain``, ``unlearned``: (n, 2) float32;
``labels``: (n,) int64; ``forget``: (n,) bool).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

DATASET = "toy"
NUM_CLASSES = 4
SEEDS = (0, 1, 2)
CONDITIONS = {  # name -> (kind, class, fraction)
    "class_1": ("class", 1, 1.0),
    "class_1_frac25": ("class_fraction", 1, 0.25),
    "class_1_frac50": ("class_fraction", 1, 0.5),
}
PSG_LAMBDAS = (0.0, 1e-3, 1e-1)
PSG_GAMMAS = (0.0, 1e-4, 1e-2)
PSG_DEFAULT = {"lambda": 1e-3, "gamma": 1e-4, "epsilon": 0.3, "steps": 2}
COMPOSE_EPOCHS = (0, 1, 2, 4)


def _slug(changes: dict) -> str:
    return "_".join(f"{k}={v:g}" for k, v in changes.items()) or "default"


def runs() -> list[tuple[str, str, dict]]:
    """(method, setting, hyperparameters) of every unlearned run."""
    out = []
    for lam, gam in itertools.product(PSG_LAMBDAS, PSG_GAMMAS):
        params = {**PSG_DEFAULT, "lambda": lam, "gamma": gam}
        changes = {k: v for k, v in (("gamma", gam), ("lambda", lam)) if v != PSG_DEFAULT[k]}
        out.append(("psg", _slug(changes), params))
    out.append(("finetune", "default", {"epochs": 5, "lr": 0.01}))
    out.append(("ssd", "default", {"alpha": 10.0, "lambda": 1.0}))
    for epochs in COMPOSE_EPOCHS:
        setting = "default" if epochs == 0 else _slug({"epochs": epochs})
        out.append(("compose", setting, {"epochs": epochs, "head_from": "psg/default"}))
    return out


def _accuracies(kind: str, method: str, params: dict, fraction: float, seed: int) -> dict:
    """Forget/remain accuracies with a clear structure the figures should show."""
    jitter = 0.01 * (seed - 1)
    if kind == "original":
        forget, remain = 0.99, 0.98
    elif kind == "retrain":
        forget, remain = (0.0 if fraction == 1.0 else 0.9), 0.97
    elif method == "psg":
        # More closeness (lambda) keeps remain up; more noise (gamma) forgets slightly less.
        forget = 0.02 + 2.0 * params["gamma"] + 0.05 * (1 - fraction)
        remain = 0.90 + 0.5 * params["lambda"] - 3.0 * params["gamma"]
    elif method == "compose":
        forget = 0.05 + 0.1 * params["epochs"]
        remain = 0.92 + 0.01 * params["epochs"]
    elif method == "finetune":
        forget, remain = 0.6 * fraction + 0.3, 0.97
    else:
        forget, remain = 0.3, 0.85 + 0.05 * fraction
    return {"forget": min(1.0, forget + jitter), "remain": min(1.0, remain + jitter)}


def metrics_table() -> pd.DataFrame:
    """The long metrics table (one row per model, condition and seed)."""
    records = []
    models = [("original", "original", "-", {}), ("retrain", "retrain", "-", {})]
    models += [("unlearned", m, s, p) for m, s, p in runs()]
    for seed, (condition, (ckind, cls, fraction)) in itertools.product(SEEDS, CONDITIONS.items()):
        ref = _accuracies("retrain", "retrain", {}, fraction, seed)
        for kind, method, setting, params in models:
            acc = _accuracies(kind, method, params, fraction, seed)
            per_class = {f"acc_class_{c}": acc["remain"] for c in range(NUM_CLASSES)}
            per_class[f"acc_class_{cls}"] = acc["forget"] if fraction == 1.0 else acc["remain"]
            record = {
                "dataset": DATASET,
                "seed": seed,
                "condition": condition,
                "model_kind": kind,
                "method": method,
                "setting": setting,
                "condition_kind": ckind,
                "condition_class": cls,
                "condition_fraction": fraction,
                "acc_forget": acc["forget"],
                "acc_remain": acc["remain"],
                "acc_test": (acc["forget"] + 3 * acc["remain"]) / 4,
                "acc_test_forget": acc["forget"],
                "acc_test_remain": acc["remain"],
                "acc_train_forget": acc["forget"],
                "acc_train_remain": min(1.0, acc["remain"] + 0.01),
                # Validation mirrors test with a small offset, so selection is checkable.
                "acc_val_forget": acc["forget"] + 0.005,
                "acc_val_remain": acc["remain"] - 0.005,
                **per_class,
                "mia_efficacy": 1.0 - acc["forget"],
                "mia_feature": "entropy",
                "loss_mia": 0.5 + 0.4 * acc["forget"],
                "unlearn_seconds": 2.0 + seed if kind == "unlearned" else 20.0,
                "retrain_seconds": 20.0,
                "seconds_ratio": (2.0 + seed) / 20.0 if kind == "unlearned" else np.nan,
            }
            if kind == "retrain":
                record.update(gap_mean=np.nan, distance=np.nan, js_forget=np.nan)
            else:
                df_, dr = acc["forget"] - ref["forget"], acc["remain"] - ref["remain"]
                record.update(
                    gap_mean=(abs(df_) + abs(dr)) / 2,
                    distance=float(np.hypot(df_, dr)),
                    js_forget=abs(df_) / 2,
                )
            for name, value in params.items():
                record[f"hp_{name}"] = value
            records.append(record)
    return pd.DataFrame.from_records(records)


def write_metrics_csv(path: Path) -> pd.DataFrame:
    df = metrics_table()
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, na_rep="")
    return df


def losses(kind: str, seed: int = 0, n: int = 200) -> dict[str, np.ndarray]:
    """Per-sample losses: members have small losses, non-members (and forgotten samples) larger."""
    rng = np.random.default_rng(seed)
    forgotten = kind != "original"
    return {
        "train_forget": rng.lognormal(0.5 if forgotten else -4.0, 1.0, n).astype(np.float32),
        "test_forget": rng.lognormal(0.5 if forgotten else -2.0, 1.0, n // 2).astype(np.float32),
        "test_remain": rng.lognormal(-2.5, 1.2, n).astype(np.float32),
    }


def write_losses(path: Path, kind: str, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **losses(kind, seed))


def tsne(n: int = 120, seed: int = 0) -> dict[str, np.ndarray]:
    """Clustered 2-D points: the forget class joins another cluster after unlearning."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, n)
    forget = labels == 1
    centres = rng.normal(0, 10, (NUM_CLASSES, 2))
    out: dict[str, np.ndarray] = {"labels": labels.astype(np.int64), "forget": forget}
    for model in ("original", "retrain", "unlearned"):
        target = labels.copy()
        if model != "original":
            target[forget] = 2
        out[model] = (centres[target] + rng.normal(0, 1, (n, 2))).astype(np.float32)
    return out


def write_tsne(path: Path, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **tsne(seed=seed))
