import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from unlearning.config_check import check_config, check_schema
from unlearning.errors import UserError
from unlearning.settings import expand_settings, format_value, setting_slug

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "config/schema/config.schema.yaml")


@pytest.fixture
def config():
    # a JSON round trip unshares the YAML anchors, so an edit touches one dataset only
    return json.loads(json.dumps(yaml.safe_load((ROOT / "config/config.yaml").read_text())))


def test_default_config_is_valid(config):
    check_schema(config, SCHEMA)
    check_config(config)


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda c: c["methods"]["psg"]["params"].update(gamm=1), "methods.psg.params"),
        (lambda c: c["methods"]["psg"]["params"].update(noise="pink"), "methods.psg.params.noise"),
        (lambda c: c["methods"]["finetune"]["params"].update(lr=-1), "methods.finetune.params.lr"),
        (lambda c: c.update(device="tpu"), "device"),
        (
            lambda c: c["datasets"]["digits"]["train"].update(epochs="ten"),
            "datasets.digits.train.epochs",
        ),
        (
            lambda c: c["datasets"]["digits"]["conditions"]["class_0"].update(kind="devise"),
            "datasets.digits.conditions.class_0.kind",
        ),
        (lambda c: c.update(sedes=[0]), "(top level)"),
        (lambda c: c["methods"].update(unknown_method={}), "methods"),
    ],
)
def test_schema_errors_name_the_key(config, edit, key):
    edit(config)
    with pytest.raises(UserError) as info:
        check_schema(config, SCHEMA)
    message = str(info.value)
    assert f"'{key}'" in message
    assert message.count("\n") == 0


def test_unknown_grid_key_of_a_method_is_reported(config):
    config["methods"]["finetune"]["grid"] = {"lrr": [0.1]}
    check_schema(config, SCHEMA)  # free-form grids pass the schema ...
    with pytest.raises(UserError, match="lrr"):  # ... and are caught against the method
        check_config(config)


def test_slug_lists_only_changed_values():
    defaults = {"gamma": 1e-4, "lambda": 0.0, "lr": 0.01}
    assert setting_slug(defaults, defaults) == "default"
    assert setting_slug(defaults, {**defaults, "gamma": 0.1, "lambda": 0.0}) == "gamma=0.1"
    assert setting_slug(defaults, {**defaults, "gamma": 1e-5}) == "gamma=1e-5"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (1e-4, "1e-4"),
        (2.5e-5, "2.5e-5"),
        (0.1, "0.1"),
        (3, "3"),
        (True, "true"),
        ("soft", "soft"),
        (None, "none"),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


def test_expand_settings_includes_default_and_grid():
    spec = {
        "params": {"gamma": 1e-4, "lambda": 0.0},
        "grid": {"gamma": [0.0, 1e-4], "lambda": [0.0, 0.1]},
    }
    settings = expand_settings(copy.deepcopy(spec))
    assert set(settings) == {"default", "gamma=0", "gamma=0_lambda=0.1", "lambda=0.1"}
    assert settings["gamma=0_lambda=0.1"] == {"gamma": 0.0, "lambda": 0.1}
    assert settings["default"] == spec["params"]


def test_dataset_method_entries_must_exist(config):
    config["datasets"]["digits"]["methods"] = ["psg/gamma=7"]
    with pytest.raises(UserError, match="psg/gamma=7"):
        check_config(config)


def test_dataset_runs_selects_methods_and_settings():
    from unlearning.settings import dataset_runs

    settings = {"psg": {"default": {}, "gamma=0": {}}, "finetune": {"default": {}}}
    assert dataset_runs(None, settings) == [
        ("psg", "default"),
        ("psg", "gamma=0"),
        ("finetune", "default"),
    ]
    assert dataset_runs(["finetune", "psg/gamma=0"], settings) == [
        ("finetune", "default"),
        ("psg", "gamma=0"),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"dataset": "mnist", "condition": "class_0", "method": "psg"}, "dataset 'mnist'"),
        ({"dataset": "digits", "condition": "class_9", "method": "psg"}, "condition 'class_9'"),
        (
            {"dataset": "digits", "condition": "class_0", "method": "psg", "setting": "x=1"},
            "run 'psg/x=1'",
        ),
        (
            {"dataset": "digits_scanners", "condition": "scanner_b", "method": "neggrad"},
            "run 'neggrad/default'",
        ),
        ({"dataset": "digits", "condition": "class_0", "method": "psg", "seed": 7}, "seed 7"),
    ],
)
def test_tsne_entries_must_name_a_run_of_the_config(config, entry, message):
    config["report"]["tsne"] = [entry]
    check_schema(config, SCHEMA)
    with pytest.raises(UserError, match=re.escape(message)) as info:
        check_config(config)
    assert "report.tsne[0]" in str(info.value)


def test_overview_is_not_a_condition_name(config):
    config["datasets"]["digits"]["conditions"]["overview"] = {"kind": "class", "class": 1}
    with pytest.raises(UserError, match="overview"):
        check_config(config)
