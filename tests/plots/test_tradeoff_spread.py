"""Coinciding points of the trade-off figure are drawn side by side, centred on their value."""

import pandas as pd

from unlearning.plots.tradeoff import SPREAD_PT, _spread


def test_coinciding_points_are_spread_and_others_are_not():
    rows = pd.DataFrame(
        {
            "acc_remain_mean": [0.90, 0.9001, 0.9002, 0.50],
            "acc_forget_mean": [0.10, 0.1001, 0.1000, 0.40],
        },
        index=[10, 11, 12, 13],
    )
    offsets = _spread(rows)
    assert sorted(offsets[i] for i in (10, 11, 12)) == [-SPREAD_PT, 0.0, SPREAD_PT]
    assert offsets[13] == 0.0
