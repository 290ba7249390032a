"""Membership-inference attacks used as forgetting metrics (docs/architecture.md, Metrics).

Every attack looks at one output statistic at a time and asks whether it separates training
members from unseen samples, and whether the forget set D_f now looks like the unseen side.
:func:`mia_efficacy_svc` is the literature's "MIA-efficacy" (SalUn's SVC attack);
:func:`mia_efficacy` (balanced logistic regression) and :func:`loss_mia` are kept beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from unlearning.metrics.accuracy import ArrayLike, as_logits_labels

#: SalUn's five attack features (``evaluation/SVC_MIA.py``: correctness, confidence, entropy,
#: modified entropy, the softmax vector "prob") and the per-sample loss. Each is attacked alone;
#: "prob" is the only one with more than one value per sample (one per class).
MIA_FEATURES = ("correctness", "confidence", "entropy", "m_entropy", "prob", "loss")

#: Features only the SVC attack reads (the logistic attack records nan for them).
SVC_ONLY = ("prob",)

#: Attacks whose efficacy can be reported as ``mia_efficacy`` (see ``evaluate_with_losses``).
MIA_ATTACKS = ("svc", "logistic")

#: SalUn's attack classifier, ``evaluation/SVC_MIA.py`` (one feature: gamma "auto" = 1).
SVC_PARAMS: dict[str, object] = {"C": 3, "gamma": "auto", "kernel": "rbf"}

_TINY = 1e-30  # floor inside logs, as in Song & Mittal's reference code


def output_features(logits: ArrayLike, labels: ArrayLike) -> dict[str, np.ndarray]:
    """Per-sample attack features (float64): whether the prediction is right, the true-class
    confidence, entropy, modified entropy, the softmax vector (N × C) and the cross-entropy.

    Modified entropy (Song & Mittal 2021) is −(1−p_y)·log p_y − Σ_{i≠y} p_i·log(1−p_i); it falls
    monotonically as the true-class probability grows, unlike plain entropy.
    """
    lg, lb = as_logits_labels(logits, labels)
    if lb.numel() == 0:
        empty = {name: np.empty(0, dtype=np.float64) for name in MIA_FEATURES}
        return {**empty, "prob": np.empty((0, lg.shape[1]), dtype=np.float64)}
    log_p = torch.log_softmax(lg, dim=1)
    p = log_p.exp()
    log_p_y = log_p.gather(1, lb[:, None]).squeeze(1)
    p_y = log_p_y.exp()
    entropy = -(p * log_p).sum(dim=1)
    log_one_minus = torch.log(torch.clamp(1.0 - p, min=_TINY))
    others = -(p * log_one_minus).sum(dim=1) + p_y * log_one_minus.gather(1, lb[:, None]).squeeze(1)
    m_entropy = -(1.0 - p_y) * torch.clamp(log_p_y, min=np.log(_TINY)) + others
    return {
        # a non-finite output has no prediction: nan, like every other feature of it
        "correctness": torch.where(
            torch.isfinite(lg).all(dim=1), (lg.argmax(dim=1) == lb).to(torch.float64), torch.nan
        ).numpy(),
        "confidence": p_y.numpy(),
        "entropy": entropy.numpy(),
        "m_entropy": m_entropy.numpy(),
        "prob": p.numpy(),
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
    whose values are not all finite (a diverged model) gives nan rather than a crash, and so does
    "prob": a linear attack cannot read confidence from a softmax vector whose true class varies
    (only SalUn's RBF attack, :func:`mia_efficacy_svc`, is run on it).
    """
    members = output_features(member_logits, member_labels)
    nonmembers = output_features(nonmember_logits, nonmember_labels)
    targets = output_features(target_logits, target_labels)
    n_mem, n_non = len(members["loss"]), len(nonmembers["loss"])
    if n_mem == 0 or n_non == 0 or len(targets["loss"]) == 0:
        return {name: float("nan") for name in MIA_FEATURES}
    idx_mem, idx_non = _balanced(n_mem, n_non, np.random.default_rng(seed))
    shares = _nonmember_shares(
        {name: values[idx_mem] for name, values in members.items() if name not in SVC_ONLY},
        {name: values[idx_non] for name, values in nonmembers.items() if name not in SVC_ONLY},
        targets,
        _attack,
    )
    return {name: shares.get(name, float("nan")) for name in MIA_FEATURES}


def _columns(values: np.ndarray) -> np.ndarray:
    """An attack's input: one row per sample (a scalar feature becomes one column)."""
    return values.reshape(len(values), -1)


def _nonmember_shares(
    members: dict[str, np.ndarray],
    nonmembers: dict[str, np.ndarray],
    targets: dict[str, np.ndarray],
    make_attack: Callable[[], Any],
) -> dict[str, float]:
    """Per feature, fit ``make_attack()`` on members (1) vs non-members (0) and return the share
    of ``targets`` it predicts 0; nan for a feature whose values are not all finite."""
    y = np.concatenate([np.ones(len(members["loss"])), np.zeros(len(nonmembers["loss"]))])
    result: dict[str, float] = {}
    for name in members:
        x = _columns(np.concatenate([members[name], nonmembers[name]]))
        t = _columns(targets[name])
        if not (np.isfinite(x).all() and np.isfinite(t).all()):
            result[name] = float("nan")
            continue
        attack = make_attack().fit(x, y)
        result[name] = float(np.mean(attack.predict(t) == 0))
    return result


def mia_efficacy_svc(
    remain_logits: ArrayLike,
    remain_labels: ArrayLike,
    test_logits: ArrayLike,
    test_labels: ArrayLike,
    forget_logits: ArrayLike,
    forget_labels: ArrayLike,
) -> dict[str, float]:
    """Per feature, SalUn's MIA-efficacy: the fraction of D_f an SVC attack calls non-member.

    Unlearning papers report "MIA-efficacy" as SalUn computes it (Fan et al., ICLR 2024; code
    OPTML-Group/Unlearn-Saliency, ``evaluation/SVC_MIA.py`` via ``main_forget.py``), so this
    reproduces that protocol rather than a tidier one, to keep our numbers comparable with
    theirs: members are the first ``n_test`` retain samples in stored order (no shuffling;
    ``n_test`` = test-set size), non-members the whole test set, and ``SVC(C=3, gamma="auto",
    kernel="rbf")`` is fitted unscaled on one feature (member 1, non-member 0); the efficacy is
    ``1 − mean(predict(D_f))``. SalUn's tables use "confidence"; "entropy" matches theirs too,
    "loss" is ours, and "m_entropy" is Song & Mittal's per-sample definition (as in SalUn's
    ``evaluation/MIA.py``) because ``SVC_MIA.py``'s version flips the columns of every class
    present in a set and uses log p for log(1−p). Deterministic; a feature is nan when a set
    is empty or a value is not finite (a diverged model).
    """
    nonmembers = output_features(test_logits, test_labels)
    n_test = len(nonmembers["loss"])
    remain_lg, remain_lb = as_logits_labels(remain_logits, remain_labels)
    members = output_features(remain_lg[:n_test], remain_lb[:n_test])
    targets = output_features(forget_logits, forget_labels)
    if len(members["loss"]) == 0 or n_test == 0 or len(targets["loss"]) == 0:
        return {name: float("nan") for name in MIA_FEATURES}
    return _nonmember_shares(members, nonmembers, targets, lambda: SVC(**SVC_PARAMS))


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
