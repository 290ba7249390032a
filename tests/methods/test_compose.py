"""Model composition: the head of one run on the features of another, its optional fine-tuning,
and the checks of the runs it names."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml

from unlearning.config_check import check_config
from unlearning.config_schema import apply_schema
from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError
from unlearning.methods import UnlearningTask, get_method
from unlearning.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


def _model(seed):
    torch.manual_seed(seed)
    return build_model("allcnn", 3, 1, 8, [0.3], [0.3], width_factor=0.1).eval()


def _task(sources):
    gen = torch.Generator().manual_seed(0)
    images = (torch.rand(24, 1, 8, 8, generator=gen) * 255).to(torch.uint8)
    data = ImageSet(images, torch.arange(24) % 3)
    original = _model(0)
    return UnlearningTask(
        model=copy.deepcopy(original),
        original=original,
        forget=data.subset(range(8)),
        remain=data,
        validation=data,
        num_classes=3,
        device=torch.device("cpu"),
        generator=gen,
        progress=False,
        sources=sources,
    )


def test_compose_is_head_of_a_on_features_of_b():
    head_run, features_run = _model(1), _model(2)
    method = get_method("compose")
    params = method.parse_params(
        {"head_from": "psg/default", "features_from": "finetune/default", "epochs": 0}
    )
    composed = method.run(_task({"head": head_run, "features": features_run}), params).eval()
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        expected = head_run.head(features_run.embed(x))
        assert torch.equal(composed(x), expected)
        assert not torch.equal(composed(x), head_run(x))
    # the sources themselves are untouched
    assert torch.equal(head_run.head.weight, _model(1).head.weight)


def test_compose_fine_tuning_changes_the_composed_model():
    head_run, features_run = _model(1), _model(2)
    method = get_method("compose")
    params = method.parse_params({"epochs": 1, "lr": 1e-2})
    composed = method.run(_task({"head": head_run, "features": features_run}), params)
    assert not torch.equal(composed.head.weight, head_run.head.weight)


def test_compose_without_sources_is_a_user_error():
    method = get_method("compose")
    with pytest.raises(UserError, match="earlier runs"):
        method.run(_task({}), method.parse_params({}))


@pytest.mark.parametrize("value", ["psg", "compose/default", 3])
def test_bad_source_names(value):
    with pytest.raises(UserError, match="head_from"):
        get_method("compose").parse_params({"head_from": value})


def test_sources_must_be_runs_of_the_config():
    config = yaml.safe_load((Path(__file__).parents[2] / "config/config.yaml").read_text())
    config["methods"]["compose"]["params"]["features_from"] = "finetune/lr=0.5"
    with pytest.raises(UserError, match="finetune/lr=0.5"):
        check_config(apply_schema(config))
