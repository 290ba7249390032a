"""Membership-inference attacks used as forgetting metrics (DESIGN §7).

Both attacks are one-dimensional logistic regressions: they ask whether a single output
statistic separates training members from unseen samples, and whether the forget set D_f now
looks like the unseen side.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from unlearning.metrics.accuracy import ArrayLike, as_logits_labels

MIA_FEATURES = ("confidence", "entropy", "m_entropy", "loss")

_TINY = 1e-30  # floor inside logs, as in Song & Mittal's reference code


def output_features(logits: ArrayLike, labels: ArrayLike) -> dict[str, np.ndarray]:
    """Per-sample attack features (float64): true-class confidence, entropy, modified entropy, CE.

    Modified entropy (Song & Mittal 2021) is −(1−p_y)·log p_y − Σ_{i≠y} p_i·log(1−p_i); it falls
    monotonically as the true-class probability grows, unlike plain entropy.
    """
    lg, lb = as_logits_labels(logits, labels)
    if lb.numel() == 0:
        return {name: np.empty(0, dtype=np.float64) for name in MIA_FEATURES}
    log_p = torch.log_softmax(lg, dim=1)
    p = log_p.exp()
    log_p_y = log_p.gather(1, lb[:, None]).squeeze(1)
    p_y = log_p_y.exp()
    entropy = -(p * log_p).sum(dim=1)
    log_one_minus = torch.log(torch.clamp(1.0 - p, min=_TINY))
    others = -(p * log_one_minus).sum(dim=1) + p_y * log_one_minus.gather(1, lb[:, None]).squeeze(1)
    m_entropy = -(1.0 - p_y) * torch.clamp(log_p_y, min=np.log(_TINY)) + others
    return {
        "confidence": p_y.numpy(),
        "entropy": entropy.numpy(),
        "m_entropy": m_entropy.numpy(),
        "loss": (-log_p_y).numpy(),
    }


def _attack() -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def _balanced(n_a: int, n_b: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices keeping the smaller group whole and a seeded random subset of the larger one."""
    k = min(n_a, n_b)
    return (
        np.sort(rng.choice(n_a, size=k, replace=False)),
        np.sort(rng.choice(n_b, size=k, replace=False)),
    )


def mia_efficacy(
    member_logits: ArrayLike,
    member_labels: ArrayLike,
    nonmember_logits: ArrayLike,
    nonmember_labels: ArrayLike,
    target_logits: ArrayLike,
    target_labels: ArrayLike,
    seed: int,
) -> dict[str, float]:
    """Per feature, the fraction of the target set an attack calls non-member (higher = forgotten).

    The attack learns members (label 1) vs non-members (label 0) on balanced groups. A feature
    whose values are not all finite (a diverged model) gives nan rather than a crash.
    """
    members = output_features(member_logits, member_labels)
    nonmembers = output_features(nonmember_logits, nonmember_labels)
    targets = output_features(target_logits, target_labels)
    n_mem, n_non = len(members["loss"]), len(nonmembers["loss"])
    if n_mem == 0 or n_non == 0 or len(targets["loss"]) == 0:
        return {name: float("nan") for name in MIA_FEATURES}
    idx_mem, idx_non = _balanced(n_mem, n_non, np.random.default_rng(seed))
    y = np.concatenate([np.ones(len(idx_mem)), np.zeros(len(idx_non))])
    result: dict[str, float] = {}
    for name in MIA_FEATURES:
        x = np.concatenate([members[name][idx_mem], nonmembers[name][idx_non]])[:, None]
        t = targets[name][:, None]
        if not (np.isfinite(x).all() and np.isfinite(t).all()):
            result[name] = float("nan")
            continue
        attack = _attack().fit(x, y)
        result[name] = float(np.mean(attack.predict(t) == 0))
    return result


def loss_mia(forget_losses: ArrayLike, test_losses: ArrayLike, seed: int, folds: int = 5) -> float:
    """Cross-validated accuracy of telling D_f losses (1) from held-out losses (0); 0.5 is ideal.

    Groups are balanced by seeded subsampling; nan when a side has fewer than ``folds`` samples
    or a loss is not finite.
    """
    f = np.asarray(torch.as_tensor(forget_losses).detach().cpu().double().reshape(-1))
    t = np.asarray(torch.as_tensor(test_losses).detach().cpu().double().reshape(-1))
    if min(len(f), len(t)) < folds or not (np.isfinite(f).all() and np.isfinite(t).all()):
        return float("nan")
    rng = np.random.default_rng(seed)
    idx_f, idx_t = _balanced(len(f), len(t), rng)
    x = np.concatenate([f[idx_f], t[idx_t]])[:, None]
    y = np.concatenate([np.ones(len(idx_f)), np.zeros(len(idx_t))])
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(_attack(), x, y, cv=cv, scoring="accuracy")))
