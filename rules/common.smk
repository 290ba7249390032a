"""Config loading and validation, target lists and small helpers used by the rules."""

import functools
import os
import sys

from snakemake.utils import min_version, validate

# The workflow and its jobs import the library from this checkout (also in conda environments).
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)

from unlearning.config_check import check_config, check_schema
from unlearning.config_load import check_config_files
from unlearning.hparams import parse_params
from unlearning.plots import LOSS_METHOD
from unlearning.runtime import export_source_path
from unlearning.settings import dataset_runs

min_version("9.0")
export_source_path(SRC)


# Snakemake's loader keeps the last of two equal keys; read the files again to refuse that.
check_config_files(workflow.configfiles)
check_schema(config, os.path.join(workflow.basedir, "config/schema/config.schema.yaml"))
validate(config, schema="../config/schema/config.schema.yaml")
# dataset -> method -> setting -> hyperparameters (datasets may override a method's settings)
SETTINGS = check_config(config)


wildcard_constraints:
    dataset=r"[^/]+",
    seed=r"\d+",
    condition=r"[^/]+",
    method=r"[^/]+",
    setting=r"[^/]+",


# The device is where jobs run, not a job parameter (scripts read config["device"]), so a
# change reruns nothing. A device this machine lacks is refused once the jobs are known and
# before the first starts (never in a dry run). Jobs on a cluster node or in a conda or
# container environment may see other GPUs than this Python: there each job checks for itself.
onstart:
    if workflow.local_exec and not workflow.deployment_settings.deployment_method:
        from unlearning.runtime import check_device_available

        check_device_available(config.get("device", "auto"))


def data_dir(dataset):
    return f"resources/data/{dataset}"


# The prepared files of a dataset, named, so scripts find the folder from ``input.info``. Plain
# patterns rather than an input function: planning the paper's matrix calls each function once per
# job, and Snakemake's per-call bookkeeping is most of the dry run's time.
DATASET_FILES = {
    name: f"resources/data/{{dataset}}/{name}.{ext}"
    for name, ext in (
        ("images", "npy"),
        ("labels", "npy"),
        ("partition", "npy"),
        ("info", "json"),
    )
}


PREPARATION_KEYS = (
    "source",
    "image_size",
    "val_fraction",
    "test_fraction",
    "split_seed",
    "name",
    "flag",
    "size",
    "raw_root",
    "download",
    "imagefolder",
)


def preparation_config(wildcards):
    """Only the keys that shape the prepared data, so that adding a condition or a method does
    not re-prepare the data (and retrain everything downstream)."""
    spec = config["datasets"][wildcards.dataset]
    return {key: spec[key] for key in PREPARATION_KEYS if key in spec}


def condition_config(wildcards):
    return config["datasets"][wildcards.dataset]["conditions"][wildcards.condition]


def user_files(wildcards):
    """Files of an image-folder dataset that its preparation reads (so edits trigger a rerun)."""
    spec = config["datasets"][wildcards.dataset].get("imagefolder") or {}
    return {key: spec[key] for key in ("labels_csv", "metadata_csv") if key in spec}


def original_checkpoint(wildcards):
    """A user's own trained model, when the dataset names one instead of training it."""
    original = config["datasets"][wildcards.dataset].get("original")
    return {"checkpoint": original["checkpoint"]} if original else {}


def normalization(wildcards):
    original = config["datasets"][wildcards.dataset].get("original") or {}
    return original.get("normalization")


def has_retrain(dataset):
    return config["datasets"][dataset].get("retrain", True)


def model_config(wildcards):
    return config["datasets"][wildcards.dataset]["model"]


def train_config(wildcards):
    return config["datasets"][wildcards.dataset].get("train", {})


def method_params(wildcards):
    return SETTINGS[wildcards.dataset][wildcards.method][wildcards.setting]


@functools.cache
def _sources(dataset, method, setting):
    params = parse_params(method, SETTINGS[dataset][method][setting])
    return params.sources() if hasattr(params, "sources") else {}


def method_sources(wildcards):
    """Role -> 'method/setting' of the earlier runs a setting builds on (compose); else empty."""
    return _sources(wildcards.dataset, wildcards.method, wildcards.setting)


def unlearn_inputs(wildcards):
    """The model and run record of every earlier run a setting builds on (compose), and the
    retrain reference the evaluation measures against, as named inputs."""
    base = f"results/{wildcards.dataset}/seed{wildcards.seed}/{wildcards.condition}"
    files = reference_files(wildcards)
    for role, run in method_sources(wildcards).items():
        files[f"{role}_model"] = f"{base}/{run}/model.pt"
        files[f"{role}_run"] = f"{base}/{run}/run.json"
    return files


def runs():
    """Every (dataset, seed, condition, method, setting) the config asks for."""
    for dataset, spec in config["datasets"].items():
        for seed in config["seeds"]:
            for condition in spec["conditions"]:
                for method, setting in dataset_runs(
                    spec.get("methods"), SETTINGS[dataset]
                ):
                    yield dataset, seed, condition, method, setting


def condition_dirs():
    for dataset, spec in config["datasets"].items():
        for seed in config["seeds"]:
            for condition in spec["conditions"]:
                yield f"results/{dataset}/seed{seed}/{condition}"


def all_metrics():
    paths = []
    for folder in condition_dirs():
        paths.append(f"{folder}/original/metrics.json")
        if has_retrain(folder.split("/")[1]):
            paths.append(f"{folder}/retrain/metrics.json")
    paths += [
        f"results/{d}/seed{s}/{c}/{m}/{setting}/metrics.json"
        for d, s, c, m, setting in runs()
    ]
    return paths


MODEL_FILES = ("model.pt", "model.json", "run.json")
EVALUATION_FILES = ("metrics.json", "losses.npz")


def result_files():
    """Every file a job under results/ writes, for the ``all`` target.

    Snakemake rebuilds a missing file only when a target asks for it: a model or metrics file
    deleted (after a corrupt checkpoint, or by an interrupted ``--forcerun``) under tables that
    still exist would otherwise stay missing while the tables show the old numbers.
    """
    paths = []
    for dataset, spec in config["datasets"].items():
        for seed in config["seeds"]:
            base = f"results/{dataset}/seed{seed}"
            paths += [f"{base}/original/{name}" for name in MODEL_FILES]
            for condition in spec["conditions"]:
                folder = f"{base}/{condition}"
                paths.append(f"{folder}/split.json")
                paths += [f"{folder}/original/{name}" for name in EVALUATION_FILES]
                if has_retrain(dataset):
                    paths += [
                        f"{folder}/retrain/{name}"
                        for name in MODEL_FILES + EVALUATION_FILES
                    ]
    paths += [
        f"results/{d}/seed{s}/{c}/{m}/{setting}/{name}"
        for d, s, c, m, setting in runs()
        for name in MODEL_FILES + EVALUATION_FILES
    ]
    return paths + [tsne_path(entry) for entry in tsne_entries()]


def figure_folders():
    return [f"results/figures/{dataset}" for dataset in config["datasets"]]


def tsne_entries(dataset=None):
    """The configured t-SNE runs (seed filled in), optionally of one dataset only."""
    for entry in config["report"]["tsne"]:
        if dataset is None or entry["dataset"] == dataset:
            yield {"seed": config["seeds"][0], "setting": "default", **entry}


def tsne_path(entry):
    return (
        f"results/{entry['dataset']}/seed{entry['seed']}/{entry['condition']}/"
        f"{entry['method']}/{entry['setting']}/tsne.npz"
    )


def tsne_runs(wildcards):
    """What the figure script needs to draw each t-SNE figure of a dataset."""
    return [
        {**entry, "path": tsne_path(entry)} for entry in tsne_entries(wildcards.dataset)
    ]


def embedded_models(wildcards):
    """The original, the retrain (if any) and the unlearned model, in panel order."""
    base = f"results/{wildcards.dataset}/seed{wildcards.seed}"
    models = {"original": f"{base}/original/model.pt"}
    if has_retrain(wildcards.dataset):
        models["retrain"] = f"{base}/{wildcards.condition}/retrain/model.pt"
    models["unlearned"] = (
        f"{base}/{wildcards.condition}/{wildcards.method}/{wildcards.setting}/model.pt"
    )
    return models


def figure_arrays(wildcards):
    """Small saved arrays the figures of a dataset read: per-sample losses of the first seed's
    original, retrain and psg runs, and the configured t-SNE maps."""
    dataset = wildcards.dataset
    spec = config["datasets"][dataset]
    seed = config["seeds"][0]
    runs_here = dataset_runs(spec.get("methods"), SETTINGS[dataset])
    losses = []
    for condition in spec["conditions"]:
        base = f"results/{dataset}/seed{seed}/{condition}"
        losses.append(f"{base}/original/losses.npz")
        if has_retrain(dataset):
            losses.append(f"{base}/retrain/losses.npz")
        losses += [
            f"{base}/{m}/{s}/losses.npz" for m, s in runs_here if m == LOSS_METHOD
        ]
    return {"losses": losses, "tsne": [tsne_path(e) for e in tsne_entries(dataset)]}


def reference_files(wildcards):
    """The retrain model, its metrics and its run record: what every distance is measured to.

    None when the dataset switches the retrain off: metrics that need it are then missing.
    """
    if not has_retrain(wildcards.dataset):
        return {}
    folder = f"results/{wildcards.dataset}/seed{wildcards.seed}/{wildcards.condition}/retrain"
    return {
        "reference_model": f"{folder}/model.pt",
        "reference_metrics": f"{folder}/metrics.json",
        "reference_run": f"{folder}/run.json",
    }


def _identity(wildcards, method, setting, kind):
    condition = condition_config(wildcards)
    return {
        "dataset": wildcards.dataset,
        "seed": int(wildcards.seed),
        "condition": wildcards.condition,
        "condition_kind": condition["kind"],
        # condition_class (the forgotten class's index) comes from split.json, which resolved it.
        # The selective-unlearning figure plots metrics against the forgotten fraction.
        "condition_fraction": condition.get(
            "fraction", 1.0 if condition["kind"] == "class" else None
        ),
        "method": method,
        "setting": setting,
        "model_kind": kind,
    }


def original_identity(wildcards):
    return _identity(wildcards, "original", "-", "original")


def retrain_identity(wildcards):
    return _identity(wildcards, "retrain", "-", "retrain")


def unlearned_identity(wildcards):
    return _identity(wildcards, wildcards.method, wildcards.setting, "unlearned")
