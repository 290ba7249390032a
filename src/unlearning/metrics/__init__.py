"""Evaluation metrics: accuracies, membership-inference attacks, distances to retraining.

The attack module imports scikit-learn (about a second), so its names load on first use:
methods that only need predictions (``predict_logits``) stay cheap to import. The evaluation
entry point is ``unlearning.metrics.evaluate.evaluate``.
"""

from importlib import import_module

from unlearning.metrics.accuracy import accuracy, per_class_accuracy, per_sample_loss
from unlearning.metrics.distance import accuracy_gaps, js_divergence, paper_distance
from unlearning.metrics.predict import predict_logits

_LAZY = {
    "MIA_FEATURES": "unlearning.metrics.mia",
    "loss_mia": "unlearning.metrics.mia",
    "mia_efficacy": "unlearning.metrics.mia",
    "output_features": "unlearning.metrics.mia",
}

__all__ = [
    "MIA_FEATURES",
    "accuracy",
    "accuracy_gaps",
    "js_divergence",
    "loss_mia",
    "mia_efficacy",
    "output_features",
    "paper_distance",
    "per_class_accuracy",
    "per_sample_loss",
    "predict_logits",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
