"""U-LiRA statistics (src/unlearning/audit/ulira.py) against answers known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unlearning.audit import ulira
from unlearning.audit.splits import draw_split, forget_set, model_seed, split_names
from unlearning.errors import UserError


def phi(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def z_quantile(p: float) -> float:
    """Its inverse, by bisection (no scipy needed for a test's few calls)."""
    low, high = -10.0, 10.0
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if phi(mid) < p else (low, mid)
    return (low + high) / 2


def synthetic(d: float, *, n=400, shadows=200, targets=20, sd_unlearned=1.0, seed=0):
    """Confidences of n forget examples, each with its own baseline μ_i (spread far wider than
    the effect): "retrained" ~ N(μ_i, 1), "unlearned" ~ N(μ_i + d, sd_unlearned²)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 5, size=n)

    def draw(models, shift, sd):
        return base + shift + sd * rng.standard_normal((models, n))

    return (
        draw(shadows, d, sd_unlearned),
        draw(shadows, 0.0, 1.0),
        draw(targets, d, sd_unlearned),
        draw(targets, 0.0, 1.0),
    )


@pytest.mark.parametrize("d", [0.5, 1.0, 2.0])
def test_two_gaussians_a_set_distance_apart_give_the_known_metrics(d):
    """Equal variances: the per-example log ratio is d(x − μ_i) − d²/2, which is N(±d²/2, d²)
    under the two hypotheses whatever μ_i. So AUC = Φ(d/√2), balanced accuracy at ratio 1 is
    Φ(d/2), and the TPR at false-positive rate α is Φ(d − z_{1−α})."""
    result = ulira.u_lira(*synthetic(d))
    assert result.auc == pytest.approx(phi(d / math.sqrt(2)), abs=0.015)
    assert result.balanced_accuracy == pytest.approx(phi(d / 2), abs=0.015)
    for fpr in ulira.LOW_FPRS:
        expected = phi(d - z_quantile(1 - fpr))
        assert result.tpr_at_low_fpr[fpr] == pytest.approx(expected, abs=0.03), fpr


def test_per_example_fits_beat_one_threshold_for_all_examples():
    """The baselines differ by far more than the effect: a single threshold on the raw
    confidence (a population attack) is near chance where the per-example test is not."""
    shadow_u, shadow_r, target_u, target_r = synthetic(1.0)
    population = ulira.auc(target_u, target_r)
    assert population < 0.6
    assert ulira.u_lira(shadow_u, shadow_r, target_u, target_r).auc > 0.74


def test_same_distribution_under_both_hypotheses_is_chance():
    result = ulira.u_lira(*synthetic(0.0))
    assert result.auc == pytest.approx(0.5, abs=0.02)
    assert result.balanced_accuracy == pytest.approx(0.5, abs=0.02)


def test_a_difference_in_spread_alone_is_detected():
    """Same means, unlearned twice as spread: only the variance terms of the ratio can see it."""
    result = ulira.u_lira(*synthetic(0.0, sd_unlearned=2.0))
    assert result.auc > 0.65


def test_auc_counts_ties_as_half_and_matches_the_area_under_the_roc():
    assert ulira.auc([1, 2, 3], [0, 0.5]) == 1.0
    assert ulira.auc([0, 0.5], [1, 2, 3]) == 0.0
    assert ulira.auc([1, 1], [1, 1]) == 0.5
    assert ulira.auc([2, 1], [1, 0]) == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    rng = np.random.default_rng(1)
    pos, neg = rng.normal(1, 1, 300).round(1), rng.normal(0, 1, 200).round(1)  # with ties
    fpr, tpr = ulira.roc_curve(pos, neg)
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert ulira.auc(pos, neg) == pytest.approx(area, abs=1e-12)


def test_roc_points_and_low_fpr_rates_on_a_hand_made_case():
    pos, neg = [5, 4, 2], [3, 1, 0, -1]
    fpr, tpr = ulira.roc_curve(pos, neg)
    assert fpr.tolist() == [0, 0, 0, 0.25, 0.25, 0.5, 0.75, 1]
    assert tpr.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1])
    assert ulira.tpr_at_fpr(pos, neg, 0.01) == pytest.approx(2 / 3)
    assert ulira.tpr_at_fpr(pos, neg, 0.25) == 1.0
    assert ulira.balanced_accuracy(pos, neg) == pytest.approx((1 + 0.5) / 2)


def test_logit_confidence_is_log_odds_of_the_true_class_and_stays_finite():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 3, size=(50, 10))
    labels = rng.integers(0, 10, size=50)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p_true = p[np.arange(50), labels]
    expected = np.log(p_true / (1 - p_true))
    np.testing.assert_allclose(ulira.logit_confidence(logits, labels), expected, rtol=1e-9)
    # p_y rounds to 1 in float64 here, yet the log odds are exact
    big = ulira.logit_confidence(np.array([[800.0, 0.0, 0.0]]), np.array([0]))
    assert big[0] == pytest.approx(800 - math.log(2))
    with pytest.raises(ValueError, match="NaN"):
        ulira.logit_confidence(np.array([[np.nan, 0.0]]), np.array([0]))


def test_fits_need_two_shadows_and_floor_the_spread():
    with pytest.raises(ValueError, match="at least 2 shadow splits"):
        ulira.fit_gaussians(np.zeros((1, 4)))
    mean, std = ulira.fit_gaussians(np.array([[1.0, 2.0], [3.0, 2.0]]))
    assert mean.tolist() == [2.0, 2.0]
    assert std[0] == pytest.approx(math.sqrt(2)) and std[1] == ulira.MIN_STD
    score = ulira.log_likelihood_ratio(
        np.array([2.0]), (np.zeros(1), np.ones(1)), (np.full(1, 2.0), np.ones(1))
    )
    assert score[0] == pytest.approx(-2.0)  # −(2−0)²/2 + (2−2)²/2


def test_splits_share_the_forget_set_and_draw_their_own_halves():
    shadows, targets = split_names(3, 2)
    assert shadows == ["shadow0", "shadow1", "shadow2"] and targets == ["target0", "target1"]
    forget = forget_set(1000, 100, seed=0)
    assert len(np.unique(forget)) == 100 and np.array_equal(forget, forget_set(1000, 100, 0))
    splits = [draw_split(1000, forget, 0, name) for name in shadows + targets]
    halves = [set(s["train_remain"]) for s in splits]
    for split, half in zip(splits, halves, strict=True):
        assert split["train_forget"] == forget.tolist()
        assert len(half) == 450 and not half & set(forget.tolist())
    assert len({frozenset(h) for h in halves}) == 5
    assert draw_split(1000, forget, 0, "shadow1") == splits[1]  # seeded
    seeds = {
        model_seed(0, s, role)
        for s in shadows + targets
        for role in ("original", "retrain", "retrain_again", "unlearn")
    }
    assert len(seeds) == 20 and all(0 <= s < 2**31 for s in seeds)
    with pytest.raises(UserError, match="audit.forget_size is 999"):
        forget_set(1000, 999, 0)
