"""Config loading and validation, target lists and small helpers used by the rules."""

import functools
import os
import sys

from snakemake.utils import min_version

# The workflow and its jobs import the library from this checkout (also in conda environments).
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)

from unlearning.config_check import check_config, file_identity
from unlearning.config_load import check_config_files
from unlearning.config_schema import apply_schema
from unlearning.data.prepared import prepared_files
from unlearning.data.sources import PREPARATION_KEYS
from unlearning.methods import parse_params
from unlearning.report_settings import GRID_TABLE, HIGHLIGHT
from unlearning.runtime import export_source_path
from unlearning.settings import (
    dataset_runs,
    replica_seed,
    retrain_count,
    retrain_folder,
    retrain_replica,
)
from unlearning.targets import check_targets, command_line_targets

min_version("9.0")
export_source_path(SRC)


# Snakemake's loader keeps the last of two equal keys; read the files again to refuse that.
check_config_files(workflow.configfiles)
# Read before the schema fills in its default file: a config that names its published numbers
# gets the comparison with them in its default target (rules/reproduction.smk).
NAMES_PUBLISHED = "published" in (config.get("reproduction") or {})
# Refused in one sentence if the schema rejects it; the schema's defaults filled in.
apply_schema(config)
# dataset -> method -> setting -> hyperparameters (datasets may override a method's settings)
SETTINGS = check_config(config)
# A target naming a dataset, condition or method the loaded config lacks: one sentence, not a
# KeyError inside an input function.
check_targets(command_line_targets(), config, SETTINGS, workflow.configfiles)


wildcard_constraints:
    dataset=r"[^/]+",
    seed=r"\d+",
    condition=r"[^/]+",
    method=r"[^/]+",
    setting=r"[^/]+",
    retrain=r"retrain(_[1-9][0-9]*)?",


# The device is where jobs run, not a job parameter (scripts read config["device"]), so a
# change reruns nothing. A device this machine lacks is refused once the jobs are known and
# before the first starts (never in a dry run). Jobs on a cluster node or in a conda or
# container environment may see other GPUs than this Python: there each job checks for itself.
onstart:
    if workflow.local_exec and not workflow.deployment_settings.deployment_method:
        from unlearning.runtime import check_device_available

        check_device_available(config["device"])
        start_worker()


# The rules whose scripts hand themselves to the warm worker (a test holds this to the scripts).
WORKER_RULES = {
    "train_original",
    "train_retrain",
    "unlearn",
    "evaluate_original",
    "embed_models",
    "audit_train",
    "audit_unlearn",
}


def start_worker():
    """Local torch jobs start from a worker that has imported torch once (unlearning.worker);
    jobs on a cluster or in conda or containers run in their own processes. A run without such
    jobs (tables, figures) starts none."""
    planned = {job.rule.name for job in workflow.dag.needrun_jobs()}
    if config["worker"] and planned & WORKER_RULES:
        from unlearning import worker

        os.makedirs("logs", exist_ok=True)
        worker.start(log_path="logs/worker.log")


def finish_worker():
    """Stop the worker and add its share of each job's work into the job's benchmark file."""
    from unlearning import worker
    from unlearning.benchmarks import merge_worker_shares

    worker.stop()
    merge_worker_shares("benchmarks")


def print_metric_warnings():
    """The warnings a user must see before trusting the numbers (reference problems, methods
    that left the model unchanged, collapsed models), printed when a run ends (Snakefile).
    """
    from unlearning.tables.warnings import warnings_block

    block = warnings_block(METRICS_CSV)
    if block:
        print(block, file=sys.stderr)


# What an evaluation job computes with; ``retrains`` only says how many references it gets.
EVALUATION = {
    key: value for key, value in config["evaluation"].items() if key != "retrains"
}


# Where every file of a run lives: the one place that spells the layout of results/. Called with
# wildcard names ("{dataset}") it gives the patterns of the rules' inputs and outputs.
REFERENCE_MODELS = ("original", "retrain")


def seed_dir(dataset, seed):
    return f"results/{dataset}/seed{seed}"


def condition_dir(dataset, seed, condition):
    return f"{seed_dir(dataset, seed)}/{condition}"


def original_dir(dataset, seed):
    """The original model, shared by every condition of a seed (its evaluations are not)."""
    return f"{seed_dir(dataset, seed)}/original"


def run_dir(dataset, seed, condition, method, setting="-"):
    """A model of one condition and its evaluation: ``original`` and ``retrain`` (whose setting
    is ``-``, as in the metrics) or an unlearning run."""
    folder = f"{condition_dir(dataset, seed, condition)}/{method}"
    return folder if method in REFERENCE_MODELS else f"{folder}/{setting}"


def retrain_dirs(dataset, seed, condition):
    """The folders of a condition's retrain references: ``retrain``, ``retrain_1``, ..."""
    count = retrain_count(config, dataset, condition)
    return [
        f"{condition_dir(dataset, seed, condition)}/{retrain_folder(r)}"
        for r in range(count)
    ]


def split_file(dataset, seed, condition):
    return f"{condition_dir(dataset, seed, condition)}/split.json"


def figure_dir(dataset):
    return f"results/figures/{dataset}"


TABLES = "results/tables"
METRICS_CSV = f"{TABLES}/metrics.csv"
# The report's first page (warnings, summary tables, then the description) once it is written.
REPORT_DESCRIPTION = "report/workflow.rst"
REPORT_FRONT = f"{TABLES}/report_front.rst"
SPLIT = split_file("{dataset}", "{seed}", "{condition}")
ORIGINAL = original_dir("{dataset}", "{seed}")
ORIGINAL_EVALUATION = run_dir("{dataset}", "{seed}", "{condition}", "original")
# Every retrain reference of a condition: {retrain} is ``retrain`` or ``retrain_<r>``.
RETRAIN = f"{condition_dir('{dataset}', '{seed}', '{condition}')}/{{retrain}}"
RUN = run_dir("{dataset}", "{seed}", "{condition}", "{method}", "{setting}")


# The prepared files of a dataset, named, so scripts find the folder from ``input.info``. Plain
# patterns rather than an input function: planning the paper's matrix calls each function once per
# job, and Snakemake's per-call bookkeeping is most of the dry run's time.
DATASET_FILES = prepared_files("{dataset}")


def preparation_config(wildcards):
    """Only the keys that shape the prepared data (``unlearning.data.sources``), so that
    adding a condition or a method does not re-prepare the data (and retrain everything
    downstream)."""
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


def imported_checkpoint(wildcards):
    """The imported original's path and sha256 (None when it is trained), so that pointing at
    another file, or new content under an older modification time, imports it again and reruns
    what depends on it."""
    original = config["datasets"][wildcards.dataset].get("original")
    return file_identity(original["checkpoint"]) if original else None


def normalization(wildcards):
    original = config["datasets"][wildcards.dataset].get("original") or {}
    return original.get("normalization")


def has_retrain(dataset):
    return config["datasets"][dataset]["retrain"]


def model_config(wildcards):
    return config["datasets"][wildcards.dataset]["model"]


def train_config(wildcards):
    return config["datasets"][wildcards.dataset].get("train", {})


def method_params(wildcards):
    return SETTINGS[wildcards.dataset][wildcards.method][wildcards.setting]


@functools.cache
def _sources(dataset, method, setting):
    params = parse_params(method, SETTINGS[dataset][method][setting])
    return params.source_runs()


def method_sources(wildcards):
    """Role -> 'method/setting' of the earlier runs a setting builds on (compose); else empty."""
    return _sources(wildcards.dataset, wildcards.method, wildcards.setting)


def unlearn_inputs(wildcards):
    """The model and run record of every earlier run a setting builds on (compose), and the
    retrain reference the evaluation measures against, as named inputs."""
    files = reference_files(wildcards)
    condition = (wildcards.dataset, wildcards.seed, wildcards.condition)
    for role, run in method_sources(wildcards).items():
        folder = run_dir(*condition, *run.split("/"))
        files[f"{role}_model"] = f"{folder}/model.pt"
        files[f"{role}_run"] = f"{folder}/run.json"
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


def reference_models(dataset):
    """The models every condition of ``dataset`` evaluates besides the unlearning runs."""
    return REFERENCE_MODELS if has_retrain(dataset) else REFERENCE_MODELS[:1]


def conditions():
    """Every (dataset, seed, condition) the config asks for."""
    for dataset, spec in config["datasets"].items():
        for seed in config["seeds"]:
            for condition in spec["conditions"]:
                yield dataset, seed, condition


def all_metrics():
    paths = []
    for d, s, c in conditions():
        paths.append(f"{run_dir(d, s, c, 'original')}/metrics.json")
        paths += [f"{folder}/metrics.json" for folder in retrain_dirs(d, s, c)]
    return paths + [f"{run_dir(*run)}/metrics.json" for run in runs()]


MODEL_FILES = ("model.pt", "model.json", "run.json")
EVALUATION_FILES = ("metrics.json", "losses.npz")


def result_files():
    """Every file a job under results/ writes, for the ``all`` target.

    Snakemake rebuilds a missing file only when a target asks for it: a model or metrics file
    deleted (after a corrupt checkpoint, or by an interrupted ``--forcerun``) under tables that
    still exist would otherwise stay missing while the tables show the old numbers.
    """
    paths = [
        f"{original_dir(dataset, seed)}/{name}"
        for dataset in config["datasets"]
        for seed in config["seeds"]
        for name in MODEL_FILES
    ]
    for d, s, c in conditions():
        paths.append(split_file(d, s, c))
        paths += [f"{run_dir(d, s, c, 'original')}/{name}" for name in EVALUATION_FILES]
        for retrain in retrain_dirs(d, s, c):
            paths += [f"{retrain}/{name}" for name in MODEL_FILES + EVALUATION_FILES]
    paths += [
        f"{run_dir(*run)}/{name}"
        for run in runs()
        for name in MODEL_FILES + EVALUATION_FILES
    ]
    return paths + [tsne_path(entry) for entry in tsne_entries()]


def figure_folders():
    return [figure_dir(dataset) for dataset in config["datasets"]]


def reproduction_targets():
    """The reproduction table and figures (rules/reproduction.smk) for the ``all`` target when
    the config names reproduction.published; none otherwise."""
    return rules.reproduction_table.output if NAMES_PUBLISHED else []


def tsne_entries(dataset=None):
    """The configured t-SNE runs (seed filled in), optionally of one dataset only."""
    for entry in config["report"]["tsne"]:
        if dataset is None or entry["dataset"] == dataset:
            yield {"seed": config["seeds"][0], "setting": "default", **entry}


def tsne_path(entry):
    run = (entry[key] for key in ("dataset", "seed", "condition", "method", "setting"))
    return f"{run_dir(*run)}/tsne.npz"


def loss_entries(dataset):
    """The runs whose per-sample losses the figures of a dataset show: the first seed's
    original, retrain and every setting of the highlighted method (the figure picks one).
    """
    spec = config["datasets"][dataset]
    seed = config["seeds"][0]
    highlighted = [
        (method, setting)
        for method, setting in dataset_runs(spec.get("methods"), SETTINGS[dataset])
        if method == HIGHLIGHT
    ]
    references = [(kind, "-") for kind in reference_models(dataset)]
    for condition in spec["conditions"]:
        for method, setting in references + highlighted:
            yield dict(condition=condition, seed=seed, method=method, setting=setting)


def loss_path(dataset, entry):
    run = (entry[key] for key in ("seed", "condition", "method", "setting"))
    return f"{run_dir(dataset, *run)}/losses.npz"


def loss_runs(wildcards):
    """Which run each of the figure rule's ``losses`` inputs belongs to, in their order."""
    return list(loss_entries(wildcards.dataset))


def tsne_runs(wildcards):
    """Which run each of the figure rule's ``tsne`` inputs belongs to, in their order."""
    return list(tsne_entries(wildcards.dataset))


def figure_arrays(wildcards):
    """Small saved arrays the figures of a dataset read: per-sample losses and t-SNE maps."""
    dataset = wildcards.dataset
    return {
        "losses": [loss_path(dataset, entry) for entry in loss_entries(dataset)],
        "tsne": [tsne_path(entry) for entry in tsne_entries(dataset)],
    }


def embedded_models(wildcards):
    """The original, the retrain (if any) and the unlearned model, in panel order."""
    dataset, seed, condition = wildcards.dataset, wildcards.seed, wildcards.condition
    models = {"original": f"{original_dir(dataset, seed)}/model.pt"}
    if has_retrain(dataset):
        models["retrain"] = f"{run_dir(dataset, seed, condition, 'retrain')}/model.pt"
    run = run_dir(dataset, seed, condition, wildcards.method, wildcards.setting)
    models["unlearned"] = f"{run}/model.pt"
    return models


def reference_files(wildcards):
    """Every retrain reference's model, metrics and run record: gaps are measured to their mean.

    Empty when the dataset switches the retrain off: metrics that need it are then missing.
    """
    folders = retrain_dirs(wildcards.dataset, wildcards.seed, wildcards.condition)
    if not folders:
        return {}
    return {
        "reference_models": [f"{folder}/model.pt" for folder in folders],
        "reference_metrics": [f"{folder}/metrics.json" for folder in folders],
        "reference_runs": [f"{folder}/run.json" for folder in folders],
    }


def _identity(wildcards, method, setting, kind, replica=None):
    """Which model a metrics file describes; what its condition forgets comes from split.json.
    ``replica`` numbers a condition's retrain references (None for every other model).
    """
    return {
        "dataset": wildcards.dataset,
        "seed": int(wildcards.seed),
        "condition": wildcards.condition,
        "method": method,
        "setting": setting,
        "model_kind": kind,
        "replica": replica,
    }


def original_identity(wildcards):
    return _identity(wildcards, "original", "-", "original")


def retrain_identity(wildcards):
    replica = retrain_replica(wildcards.retrain)
    return _identity(wildcards, "retrain", "-", "retrain", replica)


def retrain_seed(wildcards):
    """The training seed of one retrain reference (the run's seed for the first one)."""
    return replica_seed(int(wildcards.seed), retrain_replica(wildcards.retrain))


def unlearned_identity(wildcards):
    return _identity(wildcards, wildcards.method, wildcards.setting, "unlearned")
