"""Paths, target lists and input functions of the audit's rules (rules/audit.smk)."""

from unlearning.audit.check import audit_runs
from unlearning.audit.splits import REFERENCES, SPLIT_PATTERN, model_seed, split_names
from unlearning.errors import UserError


# Where the audit's files live (the main layout's helpers are in rules/common.smk). Called with
# wildcard names ("{dataset}") they give the patterns of the rules' inputs and outputs.
def audit_split_dir(dataset, split):
    return f"results/audit/{dataset}/{split}"


def audit_model_dir(dataset, split, model):
    """A model of a split: original, retrain, retrain_again, or an unlearning run
    (method/setting)."""
    return f"{audit_split_dir(dataset, split)}/{model}"


AUDIT_SPLIT_DIR = audit_split_dir("{dataset}", "{audit_split}")
AUDIT_SPLIT = f"{AUDIT_SPLIT_DIR}/split.json"
AUDIT_ORIGINAL_SPLIT = f"{AUDIT_SPLIT_DIR}/original_split.json"
AUDIT_REFERENCE = audit_model_dir("{dataset}", "{audit_split}", "{audit_model}")
AUDIT_RUN = audit_model_dir("{dataset}", "{audit_split}", "{method}/{setting}")
AUDIT_FIGURE = "results/figures/audit_roc"


def audit_config():
    audit = config.get("audit")
    if not audit:
        raise UserError(
            "The audit target needs an audit block in the config; run it with --configfile "
            "config/audit.yaml, or add one (config/README.md, Audit)."
        )
    return audit


def audit_splits():
    """The shadow splits (the attack's Gaussians) and the held-out target splits, by name."""
    audit = audit_config()
    return split_names(audit["shadows"], audit["targets"])


def audit_settings():
    """The audited (method, setting) pairs of the audited dataset, in config order."""
    audit = audit_config()
    return audit_runs(audit, SETTINGS[audit["dataset"]])


def audit_entries():
    """(model, split, confidence file) of every model the attack reads."""
    dataset = audit_config()["dataset"]
    shadows, targets = audit_splits()
    models = list(REFERENCES) + [f"{m}/{s}" for m, s in audit_settings()]
    for model in models:
        for split in shadows + targets:
            folder = audit_model_dir(dataset, split, model)
            yield model, split, f"{folder}/confidence.npz"


def audit_confidences(wildcards):
    return [path for _, _, path in audit_entries()]


def audit_models(wildcards):
    """Which model and split each of the report's confidence inputs belongs to, in order."""
    return [{"model": model, "split": split} for model, split, _ in audit_entries()]


def audit_audited(wildcards):
    dataset = audit_config()["dataset"]
    return [
        {"method": m, "setting": s, "params": SETTINGS[dataset][m][s]}
        for m, s in audit_settings()
    ]


def audit_forget_size(wildcards):
    return audit_config()["forget_size"]


def audit_draw_seed(wildcards):
    return audit_config()["seed"]


def audit_dataset(wildcards):
    return audit_config()["dataset"]


def audit_split_names(wildcards):
    shadows, targets = audit_splits()
    return {"shadows": shadows, "targets": targets}


def audit_training_split(wildcards):
    """The original trains on the whole split (forget set included), the retrains without it."""
    name = "original_split" if wildcards.audit_model == "original" else "split"
    return f"{audit_split_dir(wildcards.dataset, wildcards.audit_split)}/{name}.json"


def audit_reference_seed(wildcards):
    return model_seed(
        audit_config()["seed"], wildcards.audit_split, wildcards.audit_model
    )


def audit_unlearn_seed(wildcards):
    return model_seed(audit_config()["seed"], wildcards.audit_split, "unlearn")
