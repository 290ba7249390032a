"""Checks of the config that a JSON schema cannot express, run before any job is scheduled."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from unlearning.audit.check import check_audit
from unlearning.errors import UserError
from unlearning.methods.base import PerChannel, Rejected, config_key, field_name
from unlearning.methods.registry import params_type, parse_params
from unlearning.plots import OVERVIEW
from unlearning.settings import dataset_runs, dataset_settings, grid_entries, undefined_entry

#: Architectures built at one fixed width: ``model.width_factor`` cannot act on them.
FIXED_WIDTH = ("resnet18", "resnet50")


def _check_mia_choice(evaluation: dict[str, Any]) -> None:
    """The logistic attack reads one column of numbers; the softmax vector is SalUn's SVC's."""
    if evaluation.get("mia_attack") == "logistic" and evaluation.get("mia_feature") == "prob":
        raise UserError(
            "evaluation.mia_feature 'prob' (the softmax vector) is read only by the svc attack; "
            "set evaluation.mia_attack to svc or choose a one-number feature such as confidence."
        )


def check_config(config: dict[str, Any]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """Every setting of every method must build its parameters (unknown keys, bad values), and
    no two settings a dataset runs may compute the same thing. Returns the checked settings
    (:func:`~unlearning.settings.dataset_settings`), so the workflow expands them once.

    ``config`` has the schema's defaults filled in (:func:`unlearning.config_schema.apply_schema`,
    as the workflow loads it): the schema is where they are written, so none is repeated here."""
    check_finite(config)
    _check_number_strings(config)
    _check_no_repeats(config)
    check_paths(config)
    check_seeds(config)
    _check_mia_choice(config.get("evaluation") or {})
    for dataset, spec in config["datasets"].items():
        _check_width(dataset, spec)
        for method in spec.get("method_settings") or {}:
            if method not in config["methods"]:
                raise UserError(
                    f"datasets.{dataset}.method_settings names '{method}', which is not under "
                    f"methods; add methods.{method} to the config or remove the override."
                )
    check_method_values(config)
    by_dataset = dataset_settings(config)
    for dataset, settings in by_dataset.items():
        overrides = config["datasets"][dataset].get("method_settings") or {}
        for name, by_slug in settings.items():
            params_type(name)  # an unknown method is a user error, settings or not
            where = (
                f"methods.{name} with datasets.{dataset}.method_settings.{name}"
                if name in overrides
                else f"methods.{name}"
            )
            for slug, params in by_slug.items():
                try:
                    parse_params(name, params)
                except UserError as exc:
                    if name not in overrides:
                        raise
                    raise UserError(f"{where} setting '{slug}': {exc}") from exc
                except (TypeError, ValueError) as exc:
                    raise UserError(
                        f"{where} setting '{slug}' is invalid ({exc}); fix its params or grid "
                        "in the config."
                    ) from exc
    for dataset, spec in config["datasets"].items():
        settings = by_dataset[dataset]
        undefined = undefined_entry(spec.get("methods") or [], settings)
        if undefined:
            entry, known = undefined
            raise UserError(
                f"datasets.{dataset}.methods names '{entry}', which the config does not "
                f"define; use a method or method/setting from {known}."
            )
        _check_distinct(dataset, spec, settings)
        val, test = spec["val_fraction"], spec["test_fraction"]
        if val + test >= 1:
            raise UserError(
                f"datasets.{dataset}: val_fraction + test_fraction = {val + test} leaves no "
                "training data; make their sum smaller than 1."
            )
        needs_training = not spec.get("original") or spec["retrain"]
        if needs_training and not spec.get("train", {}):
            raise UserError(
                f"datasets.{dataset}.train is missing; give at least epochs and lr (it trains "
                "the original unless one is given, and the retrain unless retrain is false)."
            )
    check_channels(config, by_dataset)
    _check_sources(config, by_dataset)
    _check_report(config, by_dataset)
    check_audit(config, by_dataset)
    return by_dataset


def _key_of(path: list[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def check_finite(config: Any) -> None:
    """Refuse NaN and infinity anywhere: every bound of the schema is a comparison, and NaN
    passes each one (``lr: .nan`` would train to NaN weights and read as perfect forgetting)."""
    stack: list[tuple[list[str | int], Any]] = [([], config)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack += [([*path, str(k)], v) for k, v in reversed(list(value.items()))]
        elif isinstance(value, list | tuple):
            stack += [([*path, i], v) for i, v in reversed(list(enumerate(value)))]
        elif isinstance(value, float) and not math.isfinite(value):
            raise UserError(
                f"Config key '{_key_of(path)}' is {value}, which is not a finite number; give "
                "it a finite value in the config file."
            )


def _same(a: Any, b: Any) -> bool:
    """Equal as config values (1 and 1.0 are; true and 1 are not)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


_NONE = object()


def _first_repeat(values: list[Any]) -> Any:
    for i, value in enumerate(values):
        if any(_same(value, other) for other in values[:i]):
            return value
    return _NONE


def _method_specs(config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(config key, spec) of every method's params and grid, global and per dataset."""
    specs = [(f"methods.{m}", spec or {}) for m, spec in (config.get("methods") or {}).items()]
    for dataset, spec in (config.get("datasets") or {}).items():
        specs += [
            (f"datasets.{dataset}.method_settings.{m}", local or {})
            for m, local in (spec.get("method_settings") or {}).items()
        ]
    return specs


def _grid_lists(where: str, spec: dict[str, Any]) -> list[tuple[str, Any]]:
    grid = spec.get("grid")
    lists = []
    for i, entry in enumerate(grid_entries(grid)):
        index = f"[{i}]" if isinstance(grid, list) else ""
        lists += [(f"{where}.grid{index}.{key}", values) for key, values in (entry or {}).items()]
    return lists


def _not_finite_text(value: Any) -> bool:
    try:
        return isinstance(value, str) and not math.isfinite(float(value))
    except (ValueError, OverflowError):
        return False


def _check_number_strings(config: dict[str, Any]) -> None:
    """Method params accept numeric strings (YAML reads ``1e-5`` as one), and ``float`` reads
    ``"nan"`` and ``"inf"`` as numbers too: refuse those here, naming the key."""
    for where, spec in _method_specs(config):
        items = [(f"{where}.params.{k}", v) for k, v in (spec.get("params") or {}).items()]
        for key, values in _grid_lists(where, spec):
            if isinstance(values, list):
                items += [(f"{key}[{i}]", v) for i, v in enumerate(values)]
        for key, value in items:
            if _not_finite_text(value):
                raise UserError(
                    f"Config key '{key}' is {value!r}, which is not a finite number; give it a "
                    "finite value in the config file."
                )


def _check_no_repeats(config: dict[str, Any]) -> None:
    """A value listed twice would run (or count) the same thing twice: ``seeds: [0, 0]``
    doubles every row and fakes a spread over seeds; a grid value twice names one setting."""
    lists = [("seeds", config.get("seeds") or [])]
    for dataset, spec in (config.get("datasets") or {}).items():
        lists.append((f"datasets.{dataset}.methods", spec.get("methods") or []))
    for where, spec in _method_specs(config):
        lists += _grid_lists(where, spec)
    tsne = config["report"]["tsne"]
    first = (config.get("seeds") or [None])[0]
    lists.append(("report.tsne", [{"seed": first, **entry} for entry in tsne]))
    for where, values in lists:
        if not isinstance(values, list):
            continue
        repeat = _first_repeat(values)
        if repeat is not _NONE:
            raise UserError(
                f"Config key '{where}' lists {json.dumps(repeat, default=str)} more than once, "
                "which would run and count it twice; remove the repeat."
            )


def _check_width(dataset: str, spec: dict[str, Any]) -> None:
    model = spec["model"]
    width = model["width_factor"]
    if model.get("architecture") in FIXED_WIDTH and width != 1:
        raise UserError(
            f"datasets.{dataset}.model.width_factor is {width}, but {model['architecture']} is "
            "built at its standard width only (width_factor scales AllCNN); remove width_factor "
            "or use architecture allcnn."
        )


def _check_distinct(
    dataset: str, spec: dict[str, Any], settings: dict[str, dict[str, Any]]
) -> None:
    """Two settings of a method whose parameters differ only in values that cannot act (e.g.
    lambda at one pixel-formulation step) would run the same computation twice: refuse them."""
    seen: dict[tuple[str, str], str] = {}
    for method, slug in dataset_runs(spec.get("methods"), settings):
        parsed = parse_params(method, settings[method][slug])
        key = (method, json.dumps(parsed.computation(), sort_keys=True, default=str))
        if key in seen:
            raise UserError(
                f"methods.{method} settings '{seen[key]}' and '{slug}' compute the same thing on "
                f"dataset '{dataset}' (they differ only in values that have no effect there, "
                "such as lambda at one step of the pixel formulation or top_k with hard "
                "targets); remove one from the grid."
            )
        seen[key] = slug


#: Folder of the figures that span a dataset's conditions; no condition may take its name.
RESERVED_CONDITION = OVERVIEW


def _check_report(config: dict[str, Any], by_dataset: dict[str, dict[str, Any]]) -> None:
    """Each t-SNE entry must name a run the config makes."""
    for dataset, spec in config["datasets"].items():
        if RESERVED_CONDITION in (spec.get("conditions") or {}):
            raise UserError(
                f"datasets.{dataset}.conditions uses the name '{RESERVED_CONDITION}', which is "
                "the folder of the overview figures; rename the condition."
            )
    for i, entry in enumerate(config["report"]["tsne"]):
        where = f"report.tsne[{i}]"
        dataset = config["datasets"].get(entry["dataset"])
        if dataset is None:
            raise UserError(
                f"{where} names dataset '{entry['dataset']}', which the config does not define; "
                f"use one of {sorted(config['datasets'])}."
            )
        if entry["condition"] not in dataset["conditions"]:
            raise UserError(
                f"{where} names condition '{entry['condition']}', which dataset "
                f"'{entry['dataset']}' does not define; use one of {sorted(dataset['conditions'])}."
            )
        runs = {
            f"{m}/{s}"
            for m, s in dataset_runs(dataset.get("methods"), by_dataset[entry["dataset"]])
        }
        run = f"{entry['method']}/{entry['setting']}"
        if run not in runs:
            raise UserError(
                f"{where} names the run '{run}', which dataset '{entry['dataset']}' does not "
                f"run; use one of {sorted(runs)}."
            )
        if "seed" in entry and entry["seed"] not in config["seeds"]:
            raise UserError(
                f"{where} names seed {entry['seed']}, which is not in seeds {config['seeds']}; "
                "use one of them or leave seed out."
            )


def _check_sources(config: dict[str, Any], by_dataset: dict[str, dict[str, Any]]) -> None:
    """Runs a setting builds on (``compose``) must be settings that each dataset runs too."""
    for dataset, spec in config["datasets"].items():
        settings = by_dataset[dataset]
        pairs = dataset_runs(spec.get("methods"), settings)
        runs = {f"{method}/{slug}" for method, slug in pairs}
        for method, slug in pairs:
            parsed = parse_params(method, settings[method][slug])
            for role, run in parsed.source_runs().items():
                if run not in runs:
                    raise UserError(
                        f"methods.{method} setting '{slug}' takes its {role} from '{run}', "
                        f"which dataset '{dataset}' does not run; use one of "
                        f"{sorted(runs - {f'{method}/{slug}'})}."
                    )


def _require_path(key: str, value: str, kind: str) -> None:
    """Refuse a config path that is missing, of the wrong kind (``file`` or ``folder``), or
    unreadable, naming its key."""
    path = Path(value).expanduser()
    where = "" if path.is_absolute() else f" (relative paths start at {Path.cwd()})"
    if not path.exists():
        raise UserError(
            f"Config key '{key}' names {value!r}, which does not exist{where}; fix the path in "
            "the config."
        )
    if (kind == "file") != path.is_file():
        raise UserError(
            f"Config key '{key}' names {value!r}, which is not a {kind}{where}; give the path of "
            f"a {kind}."
        )
    if not os.access(path, os.R_OK | (os.X_OK if kind == "folder" else 0)):
        raise UserError(
            f"Config key '{key}' names {value!r}, which this user cannot read; fix its "
            "permissions or copy it somewhere readable."
        )


def check_paths(config: dict[str, Any]) -> None:
    """Every file and folder the config names must exist before any job runs: an imported
    checkpoint, an image folder and its CSVs, and a raw data folder unless downloads may create
    it. A missing import would otherwise leave an earlier trained original in use without a
    word, and a missing image root would fail only when its preparation job runs."""
    for dataset, spec in (config.get("datasets") or {}).items():
        where = f"datasets.{dataset}"
        checkpoint = (spec.get("original") or {}).get("checkpoint")
        if checkpoint:
            _require_path(f"{where}.original.checkpoint", checkpoint, "file")
        folder = spec.get("imagefolder") or {}
        if folder.get("root"):
            _require_path(f"{where}.imagefolder.root", folder["root"], "folder")
        for key in ("labels_csv", "metadata_csv"):
            if folder.get(key):
                _require_path(f"{where}.imagefolder.{key}", folder[key], "file")
        if spec.get("raw_root") and not spec.get("download"):
            _require_path(f"{where}.raw_root", spec["raw_root"], "folder")


@functools.cache
def file_identity(path: str) -> dict[str, str]:
    """The path and sha256 of a file the config names, as a rule parameter: a new path, or new
    content even under an older modification time, reruns the rule and what depends on it."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"path": path, "sha256": digest.hexdigest()}


#: Seeds seed NumPy's legacy generator too, which takes 0..2**32 - 1 only.
MAX_SEED = 2**32 - 1


def check_seeds(config: dict[str, Any]) -> None:
    """Refuse seeds every job would fail on: NumPy takes 0..2**32 - 1."""
    for i, seed in enumerate(config.get("seeds") or []):
        if isinstance(seed, int) and not isinstance(seed, bool) and not 0 <= seed <= MAX_SEED:
            raise UserError(
                f"Config key 'seeds[{i}]' is {seed}, outside 0..{MAX_SEED} (2**32 - 1), the "
                "range NumPy's generators accept; use a smaller seed."
            )


def _method_values(config: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(config key, method, hyperparameter, value) of every value of a grid or of a dataset's
    override, keyed where it is written."""
    items = []
    for where, spec in _method_specs(config):
        method = where.rsplit(".", 1)[1]
        if where.startswith("datasets.") and method not in (config.get("methods") or {}):
            continue  # an override of a method the config lacks: refused by check_config
        if where.startswith("datasets."):  # methods.<m>.params: the setting's check names it
            params = spec.get("params") or {}
            items += [(f"{where}.params.{k}", method, k, v) for k, v in params.items()]
        for key, values in _grid_lists(where, spec):
            name = key.rsplit(".", 1)[1]
            if isinstance(values, list):
                items += [(f"{key}[{i}]", method, name, v) for i, v in enumerate(values)]
    return items


def check_method_values(config: dict[str, Any]) -> None:
    """Each hyperparameter value on its own, named by the key where it is written (a grid entry,
    a dataset's override): a setting combines values from several places, and its own check
    could name only ``methods.<method>.params``. Rules between values stay with the setting."""
    for key, method, name, value in _method_values(config):
        kind = params_type(method)
        fields = {f.name for f in dataclasses.fields(kind)}
        if field_name(name) not in fields:
            known = sorted(config_key(f) for f in fields)
            written = re.sub(r"\[\d+\]$", "", key)  # a grid's key, not one of its values
            raise UserError(
                f"Config key '{written}' is not a hyperparameter of method '{method}'; use one "
                f"of {known}."
            )
        check = kind.checks().get(field_name(name))
        if check is None:
            continue
        try:
            check(value)
        except Rejected as rejected:
            requirement = rejected.args[0] if rejected.args else check.requirement
            raise UserError(
                f"Config key '{key}' must be {requirement}, got {value!r}; fix it there."
            ) from None


def _per_channel(where: str, values: Any, channels: int) -> None:
    if isinstance(values, list) and len(values) != channels:
        raise UserError(
            f"Config key '{where}' has {len(values)} value(s) but the images of this dataset "
            f"have {channels} channel(s); give one value per channel."
        )


def check_channels(config: dict[str, Any], by_dataset: dict[str, dict[str, Any]]) -> None:
    """Per-channel values must have one value per channel of the dataset's images, where the
    source says how many there are before the data is prepared: the normalisations, and the
    reference attack's constants on colour images (grey images take the first value)."""
    from unlearning.data.sources import source_channels

    for dataset, spec in config["datasets"].items():
        channels = source_channels(spec)
        if channels is None:
            continue
        for block in ("model", "original"):
            normalization = (spec.get(block) or {}).get("normalization") or {}
            for stat in ("mean", "std"):
                where = f"datasets.{dataset}.{block}.normalization.{stat}"
                _per_channel(where, normalization.get(stat), channels)
        if channels != 3:
            continue
        methods = {m for m, _ in dataset_runs(spec.get("methods"), by_dataset[dataset])}
        specs = [
            (where, method_spec)
            for where, method_spec in _method_specs(config)
            if where.rsplit(".", 1)[1] in methods
            and (not where.startswith("datasets.") or where.startswith(f"datasets.{dataset}."))
        ]
        for where, method_spec in specs:
            method = where.rsplit(".", 1)[1]
            per_channel = {
                config_key(f)
                for f, check in params_type(method).checks().items()
                if isinstance(check, PerChannel)
            }
            values = [
                (f"{where}.params.{k}", v)
                for k, v in (method_spec.get("params") or {}).items()
                if k in per_channel
            ]
            for key, listed in _grid_lists(where, method_spec):
                if key.rsplit(".", 1)[1] in per_channel and isinstance(listed, list):
                    values += [(f"{key}[{i}]", v) for i, v in enumerate(listed)]
            for key, value in values:
                if isinstance(value, list) and len(value) != 3:
                    raise UserError(
                        f"Config key '{key}' has {len(value)} value(s) but dataset '{dataset}' "
                        "has colour images, which the reference attack normalises per channel; "
                        "give 3 values."
                    )


def config_warnings(config: dict[str, Any], by_dataset: dict[str, dict[str, Any]]) -> list[str]:
    """What the config asks for that nothing uses, one sentence each: a dataset's override of a
    method the dataset does not run. Warned about rather than refused, since a shared override
    block (a YAML anchor) may list methods only some datasets run."""
    found = []
    for dataset, spec in config["datasets"].items():
        runs = {method for method, _ in dataset_runs(spec.get("methods"), by_dataset[dataset])}
        for method in spec.get("method_settings") or {}:
            if method in config["methods"] and method not in runs:
                found.append(
                    f"datasets.{dataset}.method_settings.{method} is not used, since dataset "
                    f"'{dataset}' does not run {method} (see datasets.{dataset}.methods); remove "
                    "the override or run the method."
                )
    return found
