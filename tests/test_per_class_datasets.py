"""Per-class figures of datasets with different numbers of classes sharing one metrics table."""

from __future__ import annotations

import pandas as pd
import pytest
import synthetic_results as synthetic

from unlearning.errors import UserError
from unlearning.plots import per_class

CONDITION = "class_1"
WIDE_CLASSES = 10


@pytest.fixture(scope="module")
def mixed() -> pd.DataFrame:
    """The 4-class synthetic table and a 10-class copy of it, as aggregate_metrics unions them:
    the 4-class rows are empty under acc_class_4 to acc_class_9."""
    toy = synthetic.metrics_table()
    wide = toy.assign(dataset="wide")
    for c in range(synthetic.NUM_CLASSES, WIDE_CLASSES):
        wide[f"acc_class_{c}"] = 0.5 + c / 100
    return pd.concat([toy, wide], ignore_index=True)


def test_each_dataset_keeps_its_own_classes(mixed):
    assert list(per_class.class_columns(mixed)) == list(range(WIDE_CLASSES))
    assert list(per_class.class_columns(mixed, synthetic.DATASET)) == [0, 1, 2, 3]
    assert list(per_class.class_matrix(mixed, synthetic.DATASET, CONDITION).columns) == [0, 1, 2, 3]
    assert list(per_class.class_matrix(mixed, "wide", CONDITION).columns) == list(range(10))


def test_both_figures_draw_with_their_own_class_names(mixed, tmp_path):
    names = ["a", "b", "c", "d"]
    assert per_class.draw(mixed, synthetic.DATASET, CONDITION, tmp_path / "toy", class_names=names)
    wide_names = [f"class {c}" for c in range(WIDE_CLASSES)]
    assert per_class.draw(mixed, "wide", CONDITION, tmp_path / "wide", class_names=wide_names)
    with pytest.raises(UserError, match="for dataset 'wide'; pass one name per class index"):
        per_class.draw(mixed, "wide", CONDITION, tmp_path / "bad", class_names=names)
