"""SalUn's SVC membership attack (MIA-efficacy), checked against sklearn fitted by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.svm import SVC

from unlearning.metrics.mia import MIA_FEATURES, mia_efficacy_svc

CLASSES = 5
#: With positive margins every prediction is right, so correctness cannot tell the sets apart.
ALWAYS_RIGHT = {"correctness"}


def _logits(margins: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits whose true-class logit leads the others (all zero) by ``margins``."""
    labels = rng.integers(0, CLASSES, len(margins))
    logits = np.zeros((len(margins), CLASSES))
    logits[np.arange(len(margins)), labels] = margins
    return torch.tensor(logits), torch.tensor(labels)


def _features(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, np.ndarray]:
    """SalUn's five attack features and the loss, written out in numpy independently of
    output_features."""
    z = logits.numpy()
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(p))
    y = labels.numpy()
    p_y = p[rows, y]
    others = p.copy()
    others[rows, y] = 0.0
    return {
        "correctness": (p.argmax(axis=1) == y).astype(float),
        "prob": p,
        "confidence": p_y,
        "entropy": -(p * np.log(p)).sum(axis=1),
        "m_entropy": -(1 - p_y) * np.log(p_y) - (others * np.log(1 - others)).sum(axis=1),
        "loss": -np.log(p_y),
    }


def _by_hand(remain, test, forget) -> dict[str, float]:
    n_test = len(test[1])
    members = _features(remain[0][:n_test], remain[1][:n_test])
    nonmembers, targets = _features(*test), _features(*forget)
    y = np.r_[np.ones(n_test), np.zeros(n_test)]
    out = {}
    for name in MIA_FEATURES:
        x = np.r_[members[name], nonmembers[name]].reshape(2 * n_test, -1)
        clf = SVC(C=3, gamma="auto", kernel="rbf").fit(x, y)
        out[name] = 1.0 - clf.predict(targets[name].reshape(len(targets[name]), -1)).mean()
    return out


def test_matches_an_svc_fitted_by_hand_on_the_first_n_test_retain_samples():
    rng = np.random.default_rng(0)
    remain = _logits(rng.normal(3.0, 1.0, 70), rng)  # longer than the test set
    test = _logits(rng.normal(1.5, 1.0, 40), rng)
    forget = _logits(rng.normal(2.2, 1.0, 25), rng)
    result = mia_efficacy_svc(*remain, *test, *forget)
    expected = _by_hand(remain, test, forget)
    assert set(result) == set(MIA_FEATURES)
    for name in MIA_FEATURES:
        assert result[name] == pytest.approx(expected[name], abs=1e-12), name
        if name not in ALWAYS_RIGHT:  # mostly right on every side: correctness says member
            assert 0.0 < result[name] < 1.0, name  # overlapping groups: a non-trivial answer
    assert mia_efficacy_svc(*remain, *test, *forget) == result  # deterministic


def test_members_are_the_first_n_test_retain_samples_in_stored_order():
    rng = np.random.default_rng(1)
    n_test = 30
    # The first n_test retain samples are confident; the many after them look like the test
    # set. Using them as members (or shuffling) would call the unsure forget set a member.
    margins = np.r_[rng.uniform(8.0, 9.0, n_test), rng.uniform(0.0, 0.5, 3 * n_test)]
    remain = _logits(margins, rng)
    test = _logits(rng.uniform(0.0, 0.5, n_test), rng)
    forget = _logits(rng.uniform(0.0, 0.5, 20), rng)
    result = mia_efficacy_svc(*remain, *test, *forget)
    for name in set(MIA_FEATURES) - ALWAYS_RIGHT:
        assert result[name] == 1.0, name


def test_forget_set_like_test_is_forgotten_and_like_members_is_not():
    rng = np.random.default_rng(2)
    remain = _logits(rng.uniform(8.0, 9.0, 50), rng)
    test = _logits(rng.uniform(0.0, 1.0, 40), rng)
    like_test = (test[0][:15].clone(), test[1][:15].clone())
    like_members = (remain[0][:15].clone(), remain[1][:15].clone())
    forgotten = mia_efficacy_svc(*remain, *test, *like_test)
    kept = mia_efficacy_svc(*remain, *test, *like_members)
    assert all(forgotten[name] == 1.0 for name in set(MIA_FEATURES) - ALWAYS_RIGHT)
    assert all(v == 0.0 for v in kept.values())


def test_empty_sets_give_nan():
    rng = np.random.default_rng(3)
    some = _logits(rng.uniform(0.0, 3.0, 10), rng)
    empty = (torch.empty(0, CLASSES), torch.empty(0, dtype=torch.long))
    for sets in ((empty, some, some), (some, empty, some), (some, some, empty)):
        result = mia_efficacy_svc(*sets[0], *sets[1], *sets[2])
        assert set(result) == set(MIA_FEATURES)
        assert all(math.isnan(v) for v in result.values())


def test_non_finite_outputs_give_nan():
    rng = np.random.default_rng(4)
    remain, test = _logits(rng.uniform(5, 6, 20), rng), _logits(rng.uniform(0, 1, 20), rng)
    bad = (torch.full((5, CLASSES), float("nan")), torch.zeros(5, dtype=torch.long))
    assert all(math.isnan(v) for v in mia_efficacy_svc(*remain, *test, *bad).values())
    member_logits = remain[0].clone()
    member_logits[3, 0] = float("inf")  # a diverged model on one member sample
    result = mia_efficacy_svc(member_logits, remain[1], *test, *test)
    assert all(math.isnan(v) for v in result.values())
    # A non-finite value beyond the first n_test retain samples is never used.
    tail = torch.cat([remain[0], torch.full((3, CLASSES), float("nan"))])
    labels = torch.cat([remain[1], torch.zeros(3, dtype=torch.long)])
    assert not any(math.isnan(v) for v in mia_efficacy_svc(tail, labels, *test, *test).values())
