"""Architectures and checkpoint I/O."""

from unlearning.models.architectures import ARCHITECTURES, Classifier, build_model
from unlearning.models.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["ARCHITECTURES", "Classifier", "build_model", "load_checkpoint", "save_checkpoint"]
