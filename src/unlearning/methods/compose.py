"""Model composition (DESIGN §4): the classifier head of one unlearning run on the feature
extractor of another, optionally fine-tuned on the remain set.

The head comes from a run with good forgetting, the features from a run with good retention.
Both runs are earlier jobs of the pipeline, named in the config as ``method/setting``; the
workflow passes their models as ``task.sources["head"]`` and ``task.sources["features"]``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from unlearning.errors import UserError
from unlearning.methods.common import (
    check_float,
    check_int,
    fit_remain,
    require_samples,
    start_training,
)
from unlearning.methods.registry import UnlearningTask, register

SOURCE_ROLES = ("head", "features")


@dataclass
class Params:
    """Adam at lr 1e-4 for the optional fine-tuning, as in the paper's composition experiment."""

    head_from: str = "psg/default"
    features_from: str = "finetune/default"
    epochs: int = 0
    lr: float = 1e-4
    batch_size: int = 64

    def __post_init__(self) -> None:
        for key in ("head_from", "features_from"):
            value = getattr(self, key)
            if not isinstance(value, str) or value.count("/") != 1:
                raise UserError(
                    f"compose: {key} must name an earlier run as 'method/setting', got {value!r}; "
                    f"fix methods.compose.params.{key} in the config."
                )
            if value.split("/")[0] == "compose":
                raise UserError(
                    f"compose: {key} cannot name another compose run ({value!r}); fix "
                    f"methods.compose.params.{key} in the config."
                )
        self.epochs = check_int("compose", "epochs", self.epochs, low=0)
        self.lr = check_float("compose", "lr", self.lr, low=0, low_open=True)
        self.batch_size = check_int("compose", "batch_size", self.batch_size, low=1)

    def sources(self) -> dict[str, str]:
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


@register("compose", Params, "Head of one unlearning run on the features of another")
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
    require_samples("compose", "remain", task.remain)
    start_training(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.lr)
    fit_remain(task, model, optimizer, params.epochs, params.batch_size, "compose")
    return model
