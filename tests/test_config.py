import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from unlearning.config_check import check_config
from unlearning.config_schema import apply_schema, check_schema
from unlearning.errors import UserError
from unlearning.settings import expand_settings, format_value, setting_slug

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "config/schema/config.schema.yaml")


@pytest.fixture
def config():
    # a JSON round trip unshares the YAML anchors, so an edit touches one dataset only
    return json.loads(json.dumps(yaml.safe_load((ROOT / "config/config.yaml").read_text())))


def test_default_config_is_valid(config):
    check_config(apply_schema(config))


@pytest.mark.parametrize(
    ("edit", "key"),
    [
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
        (lambda c: c["methods"].update(psg=[]), "methods.psg"),
    ],
)
def test_schema_errors_name_the_key(config, edit, key):
    edit(config)
    with pytest.raises(UserError) as info:
        check_schema(config, SCHEMA)
    message = str(info.value)
    assert f"'{key}'" in message
    assert message.count("\n") == 0


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda c: c["methods"]["psg"]["params"].update(gamm=1),
            "Unknown hyperparameter(s) ['gamm'] for method 'psg'",
        ),
        (
            lambda c: c["methods"]["psg"]["params"].update(noise="pink"),
            "fix methods.psg.params.noise in the config.",
        ),
        (
            lambda c: c["methods"]["finetune"]["params"].update(lr=-1),
            "finetune: lr must be a number > 0, got -1; fix methods.finetune.params.lr",
        ),
        (
            lambda c: c["methods"].update(unknown_method={}),
            "Unknown unlearning method 'unknown_method'; choose one of",
        ),
    ],
)
def test_method_values_are_checked_against_their_declarations(config, edit, expected):
    """The schema checks only the shape of methods:; each value is checked by the method's
    Params, before any job runs, with one sentence naming the key."""
    edit(config)
    apply_schema(config)
    with pytest.raises(UserError) as info:
        check_config(config)
    assert expected in str(info.value)
    assert str(info.value).count("\n") == 0


def test_unknown_grid_key_of_a_method_is_reported(config):
    config["methods"]["finetune"]["grid"] = {"lrr": [0.1]}
    apply_schema(config)  # free-form grids pass the schema ...
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
        check_config(apply_schema(config))


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
    apply_schema(config)
    with pytest.raises(UserError, match=re.escape(message)) as info:
        check_config(config)
    assert "report.tsne[0]" in str(info.value)


def test_overview_is_not_a_condition_name(config):
    config["datasets"]["digits"]["conditions"]["overview"] = {"kind": "class", "class": 1}
    with pytest.raises(UserError, match="overview"):
        check_config(apply_schema(config))


# --- per-dataset method settings, grids as lists, distinct computations -----------------------


def _paper():
    return json.loads(json.dumps(yaml.safe_load((ROOT / "config/paper.yaml").read_text())))


def test_paper_config_is_valid_and_runs_distinct_psg_computations():
    """Every psg job of the paper matrix computes something no other psg job computes."""
    from unlearning.methods import get_method
    from unlearning.settings import dataset_runs, dataset_settings

    paper = _paper()
    check_config(apply_schema(paper))
    psg = get_method("psg")
    for dataset, settings in dataset_settings(paper).items():
        slugs = [s for m, s in dataset_runs(None, settings) if m == "psg"]
        computations = {
            json.dumps(psg.parse_params(settings["psg"][s]).computation(), sort_keys=True)
            for s in slugs
        }
        assert len(computations) == len(slugs) >= 24, dataset
        assert all(settings["psg"][s]["formulation"] == "reference" for s in slugs)


def test_paper_config_has_the_per_dataset_settings_of_the_paper():
    from unlearning.settings import dataset_settings

    settings = dataset_settings(_paper())
    cifar, fashion = (
        settings["cifar10"]["psg"]["default"],
        settings["fashionmnist"]["psg"]["default"],
    )
    assert (cifar["gamma"], cifar["lambda"], cifar["augment"]) == (1e-2, 1e-3, "crop_flip")
    assert (fashion["gamma"], fashion["lambda"], fashion["augment"]) == (1e-4, 0.0, "flip")
    clinical = settings["pathmnist"]["psg"]["default"]
    assert (clinical["lr"], clinical["epsilon"], clinical["batch_size"]) == (1e-5, 0.1, 16)
    paper = _paper()
    assert paper["datasets"]["pathmnist"]["model"]["dropout"] == 0.5
    conditions = paper["datasets"]["pathmnist"]["conditions"]
    assert all(c["max_forget"] == 1000 for c in conditions.values())


def test_a_lambda_sweep_at_one_pixel_step_is_refused(config):
    """The old paper grid: lambda swept at K = 1 in the pixel formulation repeats one job."""
    config["methods"]["psg"]["params"].update(steps=1, step_size=None, formulation="pixel")
    config["methods"]["psg"]["grid"] = {"lambda": [0.0, 1e-3]}
    with pytest.raises(UserError, match="compute the same thing"):
        check_config(apply_schema(config))


def test_dataset_overrides_change_only_that_dataset(config):
    from unlearning.settings import dataset_settings

    before = dataset_settings(config)
    config["datasets"]["digits"]["method_settings"] = {
        "finetune": {"params": {"lr": 0.02}, "grid": {"epochs": [1]}}
    }
    check_config(apply_schema(config))
    after = dataset_settings(config)
    assert after["digits_scanners"] == before["digits_scanners"]
    assert after["digits"]["psg"] == before["digits"]["psg"]
    assert set(after["digits"]["finetune"]) == {"default", "epochs=1"}
    assert after["digits"]["finetune"]["default"]["lr"] == 0.02


def test_dataset_overrides_are_validated_like_the_global_ones(config):
    config["datasets"]["digits"]["method_settings"] = {"psg": {"params": []}}
    with pytest.raises(UserError, match="method_settings"):
        check_schema(config, SCHEMA)
    config["datasets"]["digits"]["method_settings"] = {"psg": {"params": {"gamm": 1}}}
    with pytest.raises(UserError, match=r"datasets.digits.method_settings.psg.*gamm"):
        check_config(apply_schema(config))
    config["datasets"]["digits"]["method_settings"] = {"psg": {"params": {"steps": 0}}}
    with pytest.raises(UserError, match=r"datasets.digits.method_settings.psg.*steps"):
        check_config(apply_schema(config))
    config["datasets"]["digits"]["method_settings"] = {
        "psg": {"params": {"formulation": "reference"}}
    }
    with pytest.raises(UserError, match="datasets.digits.method_settings.psg"):
        check_config(apply_schema(config))
    config["datasets"]["digits"]["method_settings"] = {"neggrad": {"params": {"alpha": 0.5}}}
    del config["methods"]["neggrad"]
    with pytest.raises(UserError, match="neggrad"):
        check_config(apply_schema(config))


def test_a_list_of_grids_runs_the_union():
    spec = {
        "params": {"gamma": 1e-4, "lambda": 0.0},
        "grid": [{"gamma": [0.0, 1e-4]}, {"formulation": ["reference"], "lambda": [0.1]}],
    }
    assert list(expand_settings(spec)) == [
        "default",
        "gamma=0",
        "formulation=reference_lambda=0.1",
    ]
