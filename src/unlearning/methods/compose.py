"""Model composition: the classifier head of one unlearning run on the feature
extractor of another, optionally fine-tuned on the remain set.

The head comes from a run with good forgetting, the features from a run with good retention.
Both runs are earlier jobs of the pipeline, named in the config as ``method/setting``; the
workflow passes their models as ``task.sources["head"]`` and ``task.sources["features"]``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from unlearning.errors import UserError
from unlearning.hparams.compose import DESCRIPTION, NAME, SOURCE_ROLES, Params
from unlearning.methods.common import (
    fit_remain,
    require_samples,
    start_training,
)
from unlearning.methods.registry import UnlearningTask, register


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


@register(NAME, Params, DESCRIPTION)
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
