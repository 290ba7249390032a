"""The fixed-cost figure's workload: a train, an evaluate and an unlearn job on the default
config's digits set, with the config as the workflow reads it (schema defaults filled in) and
the benchmark mode's sizes. The original stands in for the retrain references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unlearning.bench.fixtures import Sizes

SEED = 0


def _epochs(config: dict[str, Any]) -> str:
    return f"{config['epochs']} epoch{'' if config['epochs'] == 1 else 's'}"


def _identity(condition: str, method: str, setting: str, kind: str) -> dict[str, Any]:
    """The identity columns the rules give a model's metrics (rules/common.smk)."""
    return {
        "dataset": "digits",
        "seed": SEED,
        "condition": condition,
        "method": method,
        "setting": setting,
        "model_kind": kind,
        "replica": None,
    }


def prepare(
    config_path: Path, device: str, threads: int, sizes: Sizes, work: Path
) -> tuple[str, dict[str, dict[str, Any]]]:
    """Prepare the digits set and its first condition's split under ``work``; return the
    workload's description and each job's spec for ``job.py``, in the order they must run
    (the unlearn job's evaluation reads the original's metrics)."""
    from unlearning.estimate.plan import load_config
    from unlearning.settings import DEFAULT_SLUG
    from unlearning.steps.data import make_split, prepare_data

    config, settings = load_config(config_path)
    dataset = config["datasets"]["digits"]
    condition, condition_spec = next(iter(dataset["conditions"].items()))
    pixels = sizes.digits_image_size or dataset["image_size"]
    data, split = work / "data" / "digits", work / "split.json"
    prepare_data("digits", {**dataset, "image_size": pixels}, data)
    make_split(data, condition, condition_spec, SEED, split)
    train = dict(dataset["train"])
    psg = dict(settings["digits"]["psg"][DEFAULT_SLUG])
    if sizes.digits_train_epochs:
        train["epochs"] = sizes.digits_train_epochs
    if sizes.digits_unlearn_epochs:
        psg["epochs"] = sizes.digits_unlearn_epochs
    evaluation = {key: value for key, value in config["evaluation"].items() if key != "retrains"}
    original, unlearned = work / "original", work / "psg"
    references = {
        "reference_models": [str(original / "model.pt")],
        "reference_runs": [str(original / "run.json")],
    }
    common = {"data": str(data), "split": str(split), "seed": SEED, "device": device}
    specs = {
        "train": {
            "model": dataset["model"],
            "train": train,
            "outputs": {"model": str(original / "model.pt"), "run": str(original / "run.json")},
        },
        "evaluate": {
            "model": str(original / "model.pt"),
            "run": str(original / "run.json"),
            "identity": _identity(condition, "original", "-", "original"),
            "evaluation": evaluation,
            "inputs": references,
            "outputs": {
                "metrics": str(original / "metrics.json"),
                "losses": str(original / "losses.npz"),
            },
        },
        "unlearn": {
            "original": str(original / "model.pt"),
            "method": "psg",
            "setting": DEFAULT_SLUG,
            "params": psg,
            "identity": _identity(condition, "psg", DEFAULT_SLUG, "unlearned"),
            "evaluation": evaluation,
            "inputs": {**references, "reference_metrics": [str(original / "metrics.json")]},
            "outputs": {
                name: str(unlearned / file)
                for name, file in (
                    ("model", "model.pt"),
                    ("run", "run.json"),
                    ("metrics", "metrics.json"),
                    ("losses", "losses.npz"),
                )
            },
        },
    }
    workload = (
        f"digits at {pixels} px ({condition}): train {_epochs(train)}; evaluate the original; "
        f"psg {_epochs(psg)} and its evaluation; the original stands in for the retrain references"
    )
    return workload, {kind: {**common, **spec, "threads": threads} for kind, spec in specs.items()}
