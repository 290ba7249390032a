"""The retrain references as a distribution: leave-one-out floor, verdicts, unreliable references,
collapsed settings, replica seeds, and the random forget condition."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from unlearning.data.conditions import make_split
from unlearning.errors import UserError
from unlearning.settings import replica_seed, retrain_count, retrain_folder, retrain_replica
from unlearning.tables.references import (
    floor_verdicts,
    reference_problems,
    with_reference_floor,
)
from unlearning.tables.sections import summary_sections
from unlearning.tables.selection import ALL_COLLAPSED, best_settings
from unlearning.tables.summary import best_summary

SUBSETS = ("train_forget", "train_remain", "test", "test_forget", "test_remain")


def _row(kind, method, seed=0, replica=None, setting="-", **accs):
    row = {
        "dataset": "toy",
        "seed": seed,
        "condition": "c",
        "model_kind": kind,
        "method": method,
        "setting": setting,
        "replica": replica,
        "num_classes": 10,
    }
    row.update({f"acc_{s}": accs.get(s, 0.9) for s in SUBSETS})
    row["acc_forget"] = row["acc_test_forget"]
    row["acc_remain"] = row["acc_test_remain"]
    row["gap_mean"] = accs.get("gap_mean", math.nan)
    return row


def _table(rows):
    return pd.DataFrame(rows)


def test_floor_is_the_mean_leave_one_out_gap_of_the_references():
    # Three references whose test accuracy is 0.80, 0.83 and 0.86 (other subsets equal).
    refs = [_row("retrain", "retrain", replica=r, test=0.80 + 0.03 * r) for r in range(3)]
    out = with_reference_floor(_table([_row("original", "original"), *refs]))
    retrains = out[out["model_kind"] == "retrain"].set_index("replica")
    # each one's gap to the mean of the other two: |0.80-0.845|, |0.83-0.83|, |0.86-0.815|
    assert retrains["gap_test"].tolist() == pytest.approx([0.045, 0.0, 0.045])
    assert retrains["gap_train_forget"].tolist() == pytest.approx([0.0, 0.0, 0.0])
    assert retrains["gap_mean"].tolist() == pytest.approx([0.009, 0.0, 0.009])
    assert np.allclose(out["floor_gap_test"], 0.03)
    assert np.allclose(out["floor_gap_mean"], 0.006)
    # ToW of a reference: (1 − |Δtest|) since forget and remain agree
    assert retrains["tow"].tolist() == pytest.approx([0.955, 1.0, 0.955])
    assert out["floor_tow"].iloc[0] == pytest.approx((0.955 * 2 + 1) / 3)


def test_within_floor_compares_each_model_gap_with_its_condition_floor():
    refs = [_row("retrain", "retrain", replica=r, test=0.80 + 0.03 * r) for r in range(3)]
    near = _row("unlearned", "near", setting="default", gap_mean=0.005)
    far = _row("unlearned", "far", setting="default", gap_mean=0.02)
    out = with_reference_floor(_table([*refs, near, far])).set_index("method")
    assert out.loc["near", "within_floor"] is True or out.loc["near", "within_floor"] == True  # noqa: E712
    assert out.loc["far", "within_floor"] == False  # noqa: E712
    assert out.loc["retrain", "within_floor"].isna().all()


def test_one_reference_has_no_floor():
    out = with_reference_floor(
        _table([_row("retrain", "retrain", replica=0), _row("unlearned", "m", gap_mean=0.0)])
    )
    assert out["floor_gap_mean"].isna().all() and out["within_floor"].isna().all()
    assert floor_verdicts(out).set_index("method").loc["m", "verdict"] == "no floor"


def test_verdict_over_seeds_uses_the_interval_of_gap_minus_floor():
    rows = []
    for seed, (gap, floor) in enumerate([(0.018, 0.008), (0.019, 0.008), (0.020, 0.008)]):
        rows.append({**_row("unlearned", "m", seed=seed), "gap_mean": gap, "floor_gap_mean": floor})
    verdict = floor_verdicts(_table(rows)).iloc[0]
    excess = np.array([0.010, 0.011, 0.012])
    half = 4.303 * excess.std(ddof=1) / math.sqrt(3)
    assert verdict["excess_low"] == pytest.approx(excess.mean() - half)
    assert verdict["excess_high"] == pytest.approx(excess.mean() + half)
    assert verdict["verdict"] == "beyond"  # consistently above the floor: the interval is > 0
    noisy = [dict(r) for r in rows]
    noisy[2]["gap_mean"] = 0.0  # one seed far below the floor: the interval reaches 0
    assert floor_verdicts(_table(noisy)).iloc[0]["verdict"] == "within"


def test_references_far_above_or_below_or_near_chance_are_unreliable():
    original = _row("original", "original", test_remain=0.95)
    for remain, expected in ((0.80, "below"), (0.97, ""), (0.15, "near chance")):
        refs = [_row("retrain", "retrain", replica=r, test_remain=remain) for r in range(2)]
        problem = reference_problems(_table([original, *refs])).iloc[0]["problem"]
        assert (expected in problem) if expected else problem == "", (remain, problem)
    refs = [_row("retrain", "retrain", replica=0, test_remain=0.60)]
    low = _row("original", "original", test_remain=0.40)
    assert "above" in reference_problems(_table([low, *refs])).iloc[0]["problem"]


def test_a_collapsed_setting_is_never_chosen_while_another_is_left():
    refs = [_row("retrain", "retrain", replica=r) for r in range(2)]
    for r in refs:
        r.update(acc_val_forget=0.0, acc_val_remain=0.95)
    good = _row("unlearned", "m", setting="default", test=0.85)
    good.update(acc_val_forget=0.2, acc_val_remain=0.9)
    dead = _row("unlearned", "m", setting="lr=1", test=0.12)
    dead.update(acc_val_forget=0.0, acc_val_remain=0.94)  # closer on validation, but collapsed
    chosen = best_settings(_table([*refs, good, dead])).iloc[0]
    assert chosen["setting"] == "default" and chosen["n_settings"] == 2
    only_dead = best_settings(_table([*refs, dead, {**dead, "setting": "lr=2"}])).iloc[0]
    assert only_dead["selected_by"].endswith(ALL_COLLAPSED)


def test_summary_says_which_methods_are_within_the_floor_in_words():
    rows = [_row("original", "original")]
    rows += [_row("retrain", "retrain", replica=r, test=0.80 + 0.03 * r) for r in range(3)]
    rows += [
        _row("unlearned", "close", setting="default", test=0.83),
        _row("unlearned", "off", setting="default", test=0.60, train_forget=0.5),
    ]
    table = with_reference_floor(_table(rows))
    table["gap_mean"] = table["gap_mean"].where(table["model_kind"] == "retrain", math.nan)
    for method, gap in (("close", 0.0), ("off", 0.2)):
        table.loc[table["method"] == method, "gap_mean"] = gap
    table = with_reference_floor(table)
    section = summary_sections(best_summary(table))[0]
    assert "indistinguishable from retraining on this evidence: close." in section.verdict
    assert "Beyond it: off." in section.verdict
    cells = {row[0]: row[-1] for row in section.rows}
    assert cells["close"] == "yes" and cells["off"] == "no" and cells["retrain"] == "—"
    void = summary_sections(best_summary(table), {("toy", "c"): "Unreliable reference: x."})[0]
    assert "No method is called close to retraining" in void.verdict
    assert {row[-1] for row in void.rows if row[0] in ("close", "off")} == {"void"}


def test_replica_seeds_and_folders():
    assert replica_seed(7, 0) == 7  # the first reference is the model one reference always was
    seeds = {replica_seed(7, r) for r in range(1, 6)} | {replica_seed(8, 1)}
    assert len(seeds) == 6 and all(0 <= s < 2**32 for s in seeds)
    assert replica_seed(7, 2) == replica_seed(7, 2)
    assert [retrain_folder(r) for r in range(3)] == ["retrain", "retrain_1", "retrain_2"]
    assert [retrain_replica(retrain_folder(r)) for r in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError):
        retrain_replica("retrain_x")


def test_retrain_count_condition_over_dataset_over_evaluation():
    config = {
        "evaluation": {"retrains": 3},
        "datasets": {
            "a": {"conditions": {"c": {}, "d": {"retrains": 5}}},
            "b": {"retrains": 2, "conditions": {"c": {}}},
            "off": {"retrain": False, "conditions": {"c": {"retrains": 4}}},
        },
    }
    assert retrain_count(config, "a", "c") == 3
    assert retrain_count(config, "a", "d") == 5
    assert retrain_count(config, "b", "c") == 2
    assert retrain_count(config, "off", "c") == 0


class _Data:
    """The parts of PreparedData a split reads: labels and a train/val/test partition."""

    def __init__(self, labels, partition):
        self.labels = np.asarray(labels)
        self.partition = np.asarray(partition)
        self.info = {"classes": [str(c) for c in range(3)]}
        self.metadata = None

    def indices(self, part):
        return np.flatnonzero(self.partition == {"train": 0, "val": 1, "test": 2}[part])

    def part_labels(self, part):
        return self.labels[self.indices(part)]


def _data():
    rng = np.random.default_rng(0)
    return _Data(rng.integers(0, 3, 400), rng.choice(3, 400, p=[0.7, 0.1, 0.2]))


def test_random_split_is_seeded_disjoint_and_covers_the_training_split():
    data = _data()
    condition = {"kind": "random", "fraction": 0.1}
    split = make_split("rnd", condition, data, seed=3)
    again = make_split("rnd", condition, data, seed=3)
    other = make_split("rnd", condition, data, seed=4)
    n_train = len(data.indices("train"))
    forget, remain = set(split["train_forget"]), set(split["train_remain"])
    assert split == again and split["train_forget"] != other["train_forget"]
    assert not forget & remain and len(forget | remain) == n_train
    assert len(forget) == round(0.1 * n_train)
    assert split["kind"] == "random" and split["fraction"] == 0.1
    assert split["headline"] == {"forget": "train_forget", "remain": "train_remain"}
    assert split["test_forget"] == [] and len(split["test_remain"]) == len(data.indices("test"))
    assert split["forget_class"] is None
    labels = data.part_labels("train")
    assert len(set(labels[sorted(forget)])) == 3  # drawn from every class


def test_random_split_restricted_to_classes():
    data = _data()
    split = make_split("rnd", {"kind": "random", "fraction": 0.5, "classes": [1]}, data, seed=0)
    labels = data.part_labels("train")
    assert set(labels[split["train_forget"]]) == {1}
    assert len(split["train_forget"]) == round(0.5 * int((labels == 1).sum()))
    assert set(data.part_labels("test")[split["test_forget"]]) == {1}
    with pytest.raises(UserError, match="names class 7"):
        make_split("rnd", {"kind": "random", "fraction": 0.5, "classes": [7]}, data, seed=0)


def test_each_subset_floor_is_at_least_one_image():
    # Three references that agree exactly: their leave-one-out gaps are 0, the floor is not.
    refs = [_row("retrain", "retrain", replica=r, test=0.9) for r in range(3)]
    for ref in refs:
        ref.update({f"n_{s}": 50 for s in SUBSETS})
    one_image = _row("unlearned", "one", setting="default", gap_mean=0.02)
    two_images = _row("unlearned", "two", setting="default", gap_mean=0.04)
    out = with_reference_floor(_table([*refs, one_image, two_images])).set_index("method")
    assert np.allclose(out["floor_gap_test"], 1 / 50)
    assert np.allclose(out["floor_gap_mean"], 1 / 50)
    assert out.loc["one", "within_floor"] == True  # noqa: E712
    assert out.loc["two", "within_floor"] == False  # noqa: E712


def test_the_original_is_no_method_but_the_verdict_says_when_it_is_within_the_floor():
    refs = [_row("retrain", "retrain", replica=r, test=0.80 + 0.03 * r) for r in range(3)]
    rows = [_row("original", "original"), *refs, _row("unlearned", "m", setting="default")]
    table = with_reference_floor(_table(rows))
    table["gap_mean"] = table["gap_mean"].where(table["model_kind"] == "retrain", 0.0)
    section = summary_sections(best_summary(with_reference_floor(table)))[0]
    assert "evidence: m." in section.verdict and "original," not in section.verdict
    assert "The original itself is within the floor" in section.verdict
