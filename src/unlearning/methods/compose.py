"""Model composition: the classifier head of one unlearning run on the feature
extractor of another, optionally fine-tuned on the remain set.

The head comes from a run with good forgetting, the features from a run with good retention.
Both runs are earlier jobs of the pipeline, named in the config as ``method/setting``; the
workflow passes their models as ``task.sources["head"]`` and ``task.sources["features"]``.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.errors import UserError
from unlearning.lazy import torch
from unlearning.methods import base
from unlearning.methods.base import Integer, Number, Text, param
from unlearning.methods.common import fit, require_samples, start_training
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

DESCRIPTION = "Head of one unlearning run on the features of another"
SOURCE_ROLES = ("head", "features")

_PAPER = "the paper's composition experiment (Adam)"


@dataclass
class Params(base.Params):
    """The two earlier runs, as ``method/setting``, and the optional fine-tuning on D_r with
    Adam (``epochs: 0`` skips it). :meth:`source_runs` is what the workflow reads to wire the
    earlier runs in as inputs."""

    head_from: str = param("psg/default", Text())
    features_from: str = param("finetune/default", Text())
    epochs: int = param(0, Integer(0))
    lr: float = param(1e-4, Number(0.0, low_open=True), source=_PAPER)
    batch_size: int = param(64, Integer(1))

    def check(self) -> None:
        for key, value in self.source_runs().items():
            field = f"{key}_from"
            if value.count("/") != 1:
                raise self.error(
                    field, f"must name an earlier run as 'method/setting', got {value!r}"
                )
            if value.split("/")[0] == self.method:
                raise self.error(field, f"cannot name another compose run ({value!r})")

    def source_runs(self) -> dict[str, str]:
        """Role -> ``method/setting`` of the earlier runs this setting needs."""
        return {"head": self.head_from, "features": self.features_from}


def compose_models(head_model: nn.Module, features_model: nn.Module) -> nn.Module:
    """A new model: ``features_model``'s normalisation and features under ``head_model``'s head."""
    if head_model.head.in_features != features_model.head.in_features:
        raise UserError(
            "compose: the two runs have feature extractors of different widths; compose runs of "
            "the same dataset and architecture."
        )
    composed = copy.deepcopy(features_model)
    composed.head.load_state_dict(head_model.head.state_dict())
    return composed


def run(task: UnlearningTask, params: Params) -> nn.Module:
    missing = [role for role in SOURCE_ROLES if role not in task.sources]
    if missing:
        raise UserError(
            f"compose needs the earlier runs {missing} as inputs; run it through the workflow, "
            "which passes head_from and features_from."
        )
    model = compose_models(task.sources["head"], task.sources["features"]).to(task.device)
    if params.epochs == 0:
        return model
    require_samples(params.method, "remain", task.remain)
    start_training(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.lr)
    fit(dataclasses.replace(task, model=model), params, task.remain, optimizer=optimizer)
    return model
