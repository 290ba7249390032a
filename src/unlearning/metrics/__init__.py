"""Evaluation metrics: accuracies, membership-inference attacks, distances to retraining."""

from unlearning.metrics.accuracy import accuracy, per_class_accuracy, per_sample_loss
from unlearning.metrics.distance import accuracy_gaps, js_divergence, paper_distance
from unlearning.metrics.evaluate import evaluate
from unlearning.metrics.mia import MIA_FEATURES, loss_mia, mia_efficacy, output_features
from unlearning.metrics.predict import predict_logits

__all__ = [
    "MIA_FEATURES",
    "accuracy",
    "accuracy_gaps",
    "evaluate",
    "js_divergence",
    "loss_mia",
    "mia_efficacy",
    "output_features",
    "paper_distance",
    "per_class_accuracy",
    "per_sample_loss",
    "predict_logits",
]
