"""Hyperparameters of model composition (the method is in :mod:`unlearning.methods.compose`).

``sources()`` is what the workflow reads to wire the earlier runs in as inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from unlearning.errors import UserError
from unlearning.hparams.checks import check_float, check_int

NAME = "compose"
DESCRIPTION = "Head of one unlearning run on the features of another"
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
