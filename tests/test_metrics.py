"""Metrics checked against values worked out by hand on tiny tensors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.metrics import (
    MIA_FEATURES,
    accuracy,
    accuracy_gaps,
    js_divergence,
    loss_mia,
    mia_efficacy,
    output_features,
    paper_distance,
    per_class_accuracy,
    per_sample_loss,
    predict_logits,
)
from unlearning.metrics.distance import reference_mean, tug_of_war
from unlearning.metrics.evaluate import evaluate
from unlearning.metrics.mia import MIA_ATTACKS, mia_efficacy_svc

NAN = float("nan")


# --- accuracy -------------------------------------------------------------------------------


def test_accuracy_counts_argmax_hits():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1, 1, 1])
    assert accuracy(logits, labels) == pytest.approx(0.75)


def test_accuracy_of_empty_set_is_nan():
    assert math.isnan(accuracy(torch.empty(0, 3), torch.empty(0, dtype=torch.long)))


def test_per_class_accuracy_with_missing_class_is_nan():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    labels = torch.tensor([0, 1, 1, 0])  # class 0: 1 of 2 right; class 1: 1 of 2; class 2: none
    acc = per_class_accuracy(logits, labels, 4)
    assert acc[:2] == pytest.approx([0.5, 0.5])
    assert math.isnan(acc[2]) and math.isnan(acc[3])


def test_per_class_accuracy_rejects_labels_out_of_range():
    with pytest.raises(ValueError):
        per_class_accuracy(torch.zeros(2, 2), torch.tensor([0, 2]), 2)


def test_per_sample_loss_is_cross_entropy_in_float64():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    loss = per_sample_loss(logits, torch.tensor([0, 0]))
    assert loss.dtype == np.float64
    assert loss == pytest.approx([math.log(2.0), -math.log(0.75)])


# --- MIA features and attacks ---------------------------------------------------------------


def test_output_features_by_hand():
    probs = [0.5, 0.3, 0.2]
    logits = torch.log(torch.tensor([probs], dtype=torch.float64))
    feats = output_features(logits, torch.tensor([0]))
    assert set(feats) == set(MIA_FEATURES)
    assert feats["confidence"] == pytest.approx([0.5])
    assert feats["loss"] == pytest.approx([-math.log(0.5)])
    assert feats["entropy"] == pytest.approx([-sum(p * math.log(p) for p in probs)])
    m_entropy = -(1 - 0.5) * math.log(0.5) - 0.3 * math.log(1 - 0.3) - 0.2 * math.log(1 - 0.2)
    assert feats["m_entropy"] == pytest.approx([m_entropy])


def test_entropy_of_uniform_output_is_log_c():
    feats = output_features(torch.zeros(3, 7), torch.tensor([0, 3, 6]))
    assert feats["entropy"] == pytest.approx([math.log(7)] * 3)


def test_modified_entropy_stays_finite_on_extreme_logits():
    logits = torch.tensor([[1e4, 0.0, 0.0], [1e4, 0.0, 0.0]])
    feats = output_features(logits, torch.tensor([0, 1]))
    assert np.isfinite(feats["m_entropy"]).all()
    assert feats["m_entropy"][0] == pytest.approx(0.0, abs=1e-9)  # confident and right
    assert feats["m_entropy"][1] > 60  # confident and wrong: large, but clamped


def _logits(n: int, margin: float, rng: np.random.Generator, classes: int = 10):
    """Labels and logits whose true-class logit leads by ``margin`` (plus noise)."""
    labels = rng.integers(0, classes, n)
    logits = rng.normal(0.0, 0.3, (n, classes))
    logits[np.arange(n), labels] += margin
    return torch.tensor(logits), torch.tensor(labels)


def test_mia_efficacy_separates_members_from_nonmembers():
    rng = np.random.default_rng(0)
    members = _logits(400, 6.0, rng)  # confident, like training data
    nonmembers = _logits(150, 0.0, rng)  # unsure, like unseen data (unbalanced on purpose)
    unsure = _logits(50, 0.0, rng)
    like_non = mia_efficacy(*members, *nonmembers, *unsure, seed=1)
    like_mem = mia_efficacy(*members, *nonmembers, *_logits(50, 6.0, rng), seed=1)
    assert set(like_non) == set(MIA_FEATURES)
    assert math.isnan(like_non["prob"]) and math.isnan(like_mem["prob"])  # SVC only
    for feature in set(MIA_FEATURES) - {"prob"}:
        assert like_mem[feature] <= 0.05, feature
        if feature != "correctness":
            assert like_non[feature] >= 0.95, feature
    # correctness sees only right or wrong: the unsure targets it calls non-member are the wrong
    wrong = float((unsure[0].argmax(dim=1) != unsure[1]).double().mean())
    assert like_non["correctness"] == pytest.approx(wrong)


def test_mia_efficacy_is_seeded_and_nan_for_empty_target():
    rng = np.random.default_rng(1)
    members, nonmembers, target = (
        _logits(80, 2.0, rng),
        _logits(60, 1.0, rng),
        _logits(40, 1.5, rng),
    )
    first = mia_efficacy(*members, *nonmembers, *target, seed=3)
    again = mia_efficacy(*members, *nonmembers, *target, seed=3)
    assert first.keys() == again.keys()
    assert all(
        a == b or (math.isnan(a) and math.isnan(b))
        for a, b in zip(first.values(), again.values(), strict=True)
    )
    empty = (torch.empty(0, 10), torch.empty(0, dtype=torch.long))
    result = mia_efficacy(*members, *nonmembers, *empty, seed=0)
    assert all(math.isnan(v) for v in result.values())


def test_mia_efficacy_gives_nan_for_non_finite_outputs():
    rng = np.random.default_rng(2)
    members, nonmembers = _logits(30, 3.0, rng), _logits(30, 0.0, rng)
    bad = torch.full((5, 10), float("nan")), torch.zeros(5, dtype=torch.long)
    assert all(math.isnan(v) for v in mia_efficacy(*members, *nonmembers, *bad, seed=0).values())


def test_loss_mia_is_chance_for_identical_distributions():
    rng = np.random.default_rng(0)
    value = loss_mia(rng.exponential(1.0, 1500), rng.exponential(1.0, 3000), seed=0)
    assert value == pytest.approx(0.5, abs=0.05)


def test_loss_mia_is_one_for_separated_losses():
    rng = np.random.default_rng(0)
    value = loss_mia(rng.uniform(0, 1, 200), rng.uniform(2, 3, 50), seed=0)
    assert value == pytest.approx(1.0)


def test_loss_mia_needs_folds_samples_per_side():
    assert math.isnan(loss_mia(np.arange(4.0), np.arange(100.0), seed=0))
    assert not math.isnan(loss_mia(np.arange(5.0), np.arange(100.0) + 10, seed=0))


# --- distances ------------------------------------------------------------------------------


def test_js_of_identical_outputs_is_zero():
    logits = torch.randn(6, 5, generator=torch.Generator().manual_seed(0))
    assert js_divergence(logits, logits.clone()) == pytest.approx(0.0, abs=1e-12)


def test_js_of_disjoint_one_hot_outputs_is_one():
    p = torch.tensor([[100.0, -100.0], [-100.0, 100.0]])
    assert js_divergence(p, p.flip(1)) == pytest.approx(1.0, abs=1e-9)


def test_js_by_hand_against_uniform():
    # p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4).
    kl_pm = math.log2(1 / 0.75)
    kl_qm = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    value = js_divergence(torch.tensor([[100.0, -100.0]]), torch.zeros(1, 2))
    assert value == pytest.approx(0.5 * (kl_pm + kl_qm), abs=1e-9)
    assert math.isnan(js_divergence(torch.empty(0, 2), torch.empty(0, 2)))


def test_paper_distance_is_euclidean():
    assert paper_distance(0.9, 0.5, 0.6, 0.1) == pytest.approx(0.5)  # a 3-4-5 triangle / 10


def test_accuracy_gaps_skip_nan_in_the_mean():
    metrics = {"acc_a": 0.9, "acc_b": 0.2, "acc_c": None}
    reference = {"acc_a": 0.8, "acc_b": 0.5, "acc_c": 0.4}
    gaps = accuracy_gaps(metrics, reference, ["a", "b", "c"])
    assert gaps["gap_a"] == pytest.approx(0.1)
    assert gaps["gap_b"] == pytest.approx(0.3)
    assert math.isnan(gaps["gap_c"])
    assert gaps["gap_mean"] == pytest.approx(0.2)
    assert math.isnan(accuracy_gaps({}, {}, ["a"])["gap_mean"])


# --- prediction and the full evaluation -----------------------------------------------------


def _tiny_model() -> nn.Module:
    """Linear classifier on 1x2x2 images whose weights are fixed, not random."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Dropout(0.5))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[4.0, 0, 0, 0], [0, 4.0, 0, 0], [0, 0, 4.0, 0]]))
        model[1].bias.zero_()
    return model


def _tiny_set(n: int, seed: int) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 2, 2), generator=g, dtype=torch.uint8)
    return ImageSet(images, torch.randint(0, 3, (n,), generator=g))


def _subsets() -> dict[str, ImageSet]:
    return {
        "train_forget": _tiny_set(12, 1),
        "train_remain": _tiny_set(40, 2),
        "test": _tiny_set(30, 3),
        "test_forget": _tiny_set(8, 4),
        "test_remain": _tiny_set(22, 5),
    }


def test_predict_logits_matches_model_and_restores_mode():
    model = _tiny_model().train()
    model[2].eval()  # a submodule with its own mode must keep it
    data = _tiny_set(7, 0)
    logits = predict_logits(model, data, "cpu", batch_size=3)
    assert logits.dtype == torch.float32 and logits.shape == (7, 3)
    expected = data.images.float().div(255).flatten(1) @ model[1].weight.T
    assert torch.allclose(logits, expected, atol=1e-6)  # dropout was off: eval mode was used
    assert model.training and model[1].training and not model[2].training
    logits += 1  # an ordinary tensor, not an inference tensor
    assert predict_logits(model, _tiny_set(0, 0), "cpu").shape[0] == 0


REFERENCE_KEYS = [
    "gap_train_forget",
    "gap_train_remain",
    "gap_test",
    "gap_test_forget",
    "gap_test_remain",
    "gap_mean",
    "distance",
    "js_forget",
]


def _expected_keys(subsets) -> set[str]:
    keys = {f"acc_{k}" for k in subsets} | {f"n_{k}" for k in subsets}
    keys |= {"acc_forget", "acc_remain", "headline_forget", "headline_remain"}
    keys |= {f"acc_class_{c}" for c in range(3)}
    keys |= {f"mia_{a}_{f}" for a in MIA_ATTACKS for f in MIA_FEATURES}
    keys |= {"mia_efficacy", "mia_feature", "mia_attack"}
    keys |= {"loss_mia", "loss_mia_heldout", "num_classes", "n_references", "tow"}
    return keys | set(REFERENCE_KEYS)


def test_evaluate_without_reference():
    subsets = _subsets()
    headline = {"forget": "test_forget", "remain": "test_remain"}
    out = evaluate(_tiny_model(), subsets, 3, "cpu", headline=headline, mia_feature="loss")
    assert set(out) == _expected_keys(subsets)
    json.dumps(out, allow_nan=False)
    for key in (*REFERENCE_KEYS, "tow"):
        assert out[key] is None, key
    assert out["n_references"] == 0 and out["num_classes"] == 3
    assert out["n_train_forget"] == 12 and isinstance(out["n_train_forget"], int)
    assert out["acc_forget"] == out["acc_test_forget"]
    assert out["acc_remain"] == out["acc_test_remain"]
    assert out["mia_efficacy"] == out["mia_svc_loss"] and out["mia_feature"] == "loss"
    assert out["mia_attack"] == "svc"
    assert out["loss_mia_heldout"] == "test_forget"
    bounded = [k for k in out if k.startswith(("acc_", "mia_", "loss_mia"))]
    for key in bounded:  # the string-valued keys (mia_feature, mia_attack) are skipped below
        if isinstance(out[key], float):
            assert 0.0 <= out[key] <= 1.0, key
    logits = _tiny_model().eval()(subsets["test"].images.float() / 255).detach()
    assert out["acc_test"] == pytest.approx(accuracy(logits, subsets["test"].labels))


def test_evaluate_against_itself_has_zero_distance():
    model = _tiny_model()
    subsets = _subsets()
    subsets["test_forget"] = _tiny_set(3, 6)  # too few for the loss MIA: falls back to "test"
    subsets["val_forget"] = _tiny_set(5, 7)
    subsets["val_remain"] = _tiny_set(0, 8)  # empty: its accuracy is missing, not zero
    headline = {"forget": "train_forget", "remain": "train_remain"}
    first = evaluate(model, subsets, 3, "cpu", headline=headline, batch_size=4)
    again = evaluate(
        model,
        subsets,
        3,
        "cpu",
        headline=headline,
        reference_models=[model],
        reference_metrics=[first],
        batch_size=4,
    )
    assert set(again) == _expected_keys(subsets)
    assert "acc_val_forget" in again and again["n_val_forget"] == 5
    assert again["acc_val_remain"] is None and again["n_val_remain"] == 0
    json.dumps(again, allow_nan=False)
    assert again["loss_mia_heldout"] == "test"
    assert again["acc_forget"] == again["acc_train_forget"]
    for key in REFERENCE_KEYS:
        assert again[key] == pytest.approx(0.0, abs=1e-12), key
    assert again["tow"] == 1.0 and again["n_references"] == 1
    twin = _tiny_model()  # a separate but identical reference gives the same answer
    assert evaluate(model, subsets, 3, "cpu", headline=headline, reference_models=[twin])[
        "js_forget"
    ] == pytest.approx(0.0, abs=1e-12)
    own = {*REFERENCE_KEYS, "tow", "n_references"}
    same = {k: v for k, v in again.items() if k not in own}
    assert same == {k: v for k, v in first.items() if k not in own}


def test_gaps_distance_and_tow_are_taken_to_the_mean_of_the_references():
    model = _tiny_model()
    subsets = _subsets()
    headline = {"forget": "test_forget", "remain": "test_remain"}
    own = evaluate(model, subsets, 3, "cpu", headline=headline)
    accs = ("acc_train_forget", "acc_train_remain", "acc_test", "acc_test_forget")
    accs += ("acc_test_remain", "acc_forget", "acc_remain")
    low = {k: own[k] - 0.1 for k in accs}
    high = {k: own[k] + 0.3 for k in accs}
    out = evaluate(
        model, subsets, 3, "cpu", headline=headline, reference_metrics=[low, high]
    )  # the mean reference lies 0.1 above every accuracy of the model
    assert out["n_references"] == 2
    for key in ("gap_train_forget", "gap_test", "gap_test_remain", "gap_mean"):
        assert out[key] == pytest.approx(0.1), key
    assert out["distance"] == pytest.approx(math.sqrt(2) * 0.1)
    assert out["tow"] == pytest.approx(0.9**3)
    assert out["js_forget"] is None  # metrics without models: no divergence


def test_reference_mean_skips_missing_values_and_tow_multiplies_the_three_gaps():
    refs = [{"a": 0.2, "b": None}, {"a": 0.4, "b": 0.5}, {"a": 0.9}]
    mean = reference_mean(refs, ["a", "b", "c"])
    assert mean["a"] == pytest.approx(0.5) and mean["b"] == 0.5 and math.isnan(mean["c"])
    metrics = {"acc_forget": 0.1, "acc_remain": 0.9, "acc_test": 0.8}
    reference = {"acc_forget": 0.0, "acc_remain": 0.95, "acc_test": 0.9}
    assert tug_of_war(metrics, reference) == pytest.approx(0.9 * 0.95 * 0.9)
    assert tug_of_war(metrics, reference | {"acc_test": None}) != tug_of_war(metrics, reference)
    assert math.isnan(tug_of_war(metrics, reference | {"acc_test": None}))


def test_evaluate_reports_the_chosen_attack():
    subsets = _subsets()
    headline = {"forget": "test_forget", "remain": "test_remain"}
    svc = evaluate(_tiny_model(), subsets, 3, "cpu", headline=headline, mia_feature="confidence")
    sets = ("train_remain", "test", "train_forget")
    expected = mia_efficacy_svc(*(x for k in sets for x in _logits_of(subsets[k])))
    assert svc["mia_attack"] == "svc" and svc["mia_feature"] == "confidence"
    for feature in MIA_FEATURES:
        assert svc[f"mia_svc_{feature}"] == pytest.approx(expected[feature]), feature
    assert svc["mia_efficacy"] == svc["mia_svc_confidence"]
    logistic = evaluate(
        _tiny_model(),
        subsets,
        3,
        "cpu",
        headline=headline,
        mia_feature="confidence",
        mia_attack="logistic",
    )
    assert logistic["mia_attack"] == "logistic"
    assert logistic["mia_efficacy"] == logistic["mia_logistic_confidence"]
    assert {k: v for k, v in logistic.items() if k not in ("mia_efficacy", "mia_attack")} == {
        k: v for k, v in svc.items() if k not in ("mia_efficacy", "mia_attack")
    }


def _logits_of(data: ImageSet) -> tuple[torch.Tensor, torch.Tensor]:
    return predict_logits(_tiny_model(), data, "cpu"), data.labels


def test_evaluate_rejects_bad_arguments():
    subsets = _subsets()
    with pytest.raises(ValueError):
        evaluate(_tiny_model(), subsets, 3, "cpu", headline={"forget": "x", "remain": "test"})
    with pytest.raises(ValueError):
        evaluate(
            _tiny_model(),
            subsets,
            3,
            "cpu",
            headline={"forget": "test_forget", "remain": "test_remain"},
            mia_feature="bogus",
        )
    with pytest.raises(ValueError, match="mia_attack"):
        evaluate(
            _tiny_model(),
            subsets,
            3,
            "cpu",
            headline={"forget": "test_forget", "remain": "test_remain"},
            mia_attack="bogus",
        )
