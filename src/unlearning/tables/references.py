"""The retrain references as a distribution: their mean, their own noise floor, and whether they
can be trusted at all (docs/architecture.md, Metrics).

A condition has R retrain references that differ only in initialisation and batch order. Every
gap of a model is taken to their mean (in the job that evaluates it); here, from the long table,
each reference's *leave-one-out* gap is its gap to the mean of the other R − 1, and the **noise
floor** of a metric is the mean of those leave-one-out gaps: how far a model that *is* a retrain
sits from the others. A method whose gap is within the floor cannot be told apart from
retraining on this evidence. Gaps and floor differ by a factor of order √(R/(R−1)) in what they
average over, which is small next to the seed spread at R ≥ 3; with R = 1 there is no floor.

An accuracy moves in steps of one image, 1/n on a subset of n images, and a few references may
agree exactly (well-trained models miss the same hard images), which would give a floor of 0 that
no other model can meet without being identical. So each subset's floor is at least that
resolution: a model one image away from the references' mean on a subset is within it there.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from unlearning.gaps import GAP_SUBSETS, TOW_KEYS
from unlearning.tables.collect import numeric

KEYS = ["dataset", "seed", "condition"]
GAP_COLUMNS = [f"gap_{s}" for s in GAP_SUBSETS]
#: Per-row columns this module adds: the floor of each gap (at least one image of its subset),
#: of the mean gap (their mean) and of ToW (a retrain's mean leave-one-out ToW: a ceiling rather
#: than a floor there, 1 is perfect), and the verdict.
FLOOR_COLUMNS = [f"floor_{c}" for c in GAP_COLUMNS] + ["floor_gap_mean", "floor_tow"]

#: References whose mean remain accuracy lies more than this far from the original's (either
#: side) are a poor stand-in for the ideal unlearned model. (Test accuracy is no guide: it falls
#: by design when a class is forgotten.)
REFERENCE_DRIFT_LIMIT = 0.10
#: A model whose test accuracy is within this of chance (1 / number of classes) has collapsed.
NEAR_CHANCE_MARGIN = 0.10


def _leave_one_out(block: pd.DataFrame) -> pd.DataFrame:
    """Each reference's gaps and ToW to the mean of the others (one block: one condition and
    seed, R ≥ 2 rows)."""
    accs = {s: numeric(block, f"acc_{s}").to_numpy() for s in GAP_SUBSETS}
    heads = {k: numeric(block, k).to_numpy() for k in TOW_KEYS}
    n = len(block)
    out = pd.DataFrame(index=block.index)

    def others_mean(values: np.ndarray) -> np.ndarray:
        total = np.nansum(values)
        count = np.sum(~np.isnan(values))
        with np.errstate(invalid="ignore", divide="ignore"):
            return (total - np.nan_to_num(values)) / (count - ~np.isnan(values))

    for subset, values in accs.items():
        out[f"gap_{subset}"] = np.abs(values - others_mean(values))
    out["gap_mean"] = out[GAP_COLUMNS].mean(axis=1, skipna=True)
    tow = np.ones(n)
    for values in heads.values():
        tow = tow * (1.0 - np.abs(values - others_mean(values)))
    out["tow"] = tow
    return out


def with_reference_floor(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (the long table) with each retrain's leave-one-out gaps and ToW in its own gap
    columns, and on every row of a condition and seed the floors (:data:`FLOOR_COLUMNS`, NaN
    with fewer than two references; ``floor_gap_mean`` is the mean of the subsets' floors, as
    ``gap_mean`` is of their gaps) and ``within_floor`` (an unlearned or original row's
    ``gap_mean`` ≤ ``floor_gap_mean``; empty without a floor)."""
    out = df.copy()
    for column in [*GAP_COLUMNS, "gap_mean", "tow", *FLOOR_COLUMNS]:
        out[column] = numeric(out, column)
    out["within_floor"] = pd.Series(None, index=out.index, dtype=object)
    if out.empty or "model_kind" not in out.columns:
        return out
    retrains = out[out["model_kind"] == "retrain"]
    for key, block in retrains.groupby(KEYS, sort=False):
        if len(block) < 2:
            continue
        loo = _leave_one_out(block)
        out.loc[block.index, loo.columns] = loo
        rows = (out[KEYS] == pd.Series(key, index=KEYS)).all(axis=1)
        floors = [_subset_floor(loo, block, subset) for subset in GAP_SUBSETS]
        for subset, floor in zip(GAP_SUBSETS, floors, strict=True):
            out.loc[rows, f"floor_gap_{subset}"] = floor
        defined = [f for f in floors if not math.isnan(f)]
        out.loc[rows, "floor_gap_mean"] = sum(defined) / len(defined) if defined else math.nan
        out.loc[rows, "floor_tow"] = float(loo["tow"].mean())
    judged = out["floor_gap_mean"].notna() & (out["model_kind"] != "retrain")
    judged &= out["gap_mean"].notna()
    out.loc[judged, "within_floor"] = out.loc[judged, "gap_mean"].round(12) <= out.loc[
        judged, "floor_gap_mean"
    ].round(12)
    return out


def _subset_floor(loo: pd.DataFrame, block: pd.DataFrame, subset: str) -> float:
    """The references' mean leave-one-out gap on one subset, at least one image (1/n) where the
    subset's size is recorded; NaN where the subset has no accuracy (an empty subset)."""
    gap = float(loo[f"gap_{subset}"].mean())
    if math.isnan(gap):
        return gap
    sizes = numeric(block, f"n_{subset}").dropna()
    size = float(sizes.iloc[0]) if len(sizes) else math.nan
    return max(gap, 1.0 / size) if size > 0 else gap


def chance_level(df: pd.DataFrame) -> pd.Series:
    """1 / number of classes per row (``num_classes``; NaN where metrics predate it, so that
    nothing is judged near chance on a guess)."""
    return 1.0 / numeric(df, "num_classes")


def collapsed(df: pd.DataFrame) -> pd.Series:
    """Rows whose test accuracy is near chance (:data:`NEAR_CHANCE_MARGIN`): a model that
    predicts (almost) one class. False where unknown."""
    return (numeric(df, "acc_test") <= chance_level(df) + NEAR_CHANCE_MARGIN).fillna(False)


def reference_problems(df: pd.DataFrame, limit: float = REFERENCE_DRIFT_LIMIT) -> pd.DataFrame:
    """Per dataset, condition and seed with both an original and retrain rows: the references'
    mean remain accuracy next to the original's, and ``problem``, a sentence when the references
    cannot stand in for the ideal unlearned model (empty when they can): their mean remain
    accuracy is near chance, or more than ``limit`` below or above the original's."""
    columns = [*KEYS, "original_remain", "retrain_remain", "drop", "problem"]
    if df.empty or not {*KEYS, "model_kind"} <= set(df.columns):
        return pd.DataFrame(columns=columns)
    work = df[KEYS].copy()
    work["acc_remain"] = numeric(df, "acc_remain")
    work["chance"] = chance_level(df)
    original = work[df["model_kind"] == "original"].drop_duplicates(KEYS)
    retrain = work[df["model_kind"] == "retrain"].groupby(KEYS, sort=False).mean().reset_index()
    joined = original.merge(retrain, on=KEYS, suffixes=("_original", "_retrain"))
    rows = []
    for r in joined.to_dict("records"):
        remain, original = r["acc_remain_retrain"], r["acc_remain_original"]
        drop = original - remain
        classes = 1 / r["chance_retrain"] if r["chance_retrain"] else math.nan
        if math.isnan(drop):
            problem = ""
        elif remain <= r["chance_retrain"] + NEAR_CHANCE_MARGIN:
            problem = (
                f"the retrain remain accuracy is {100 * remain:.1f}%, near chance for "
                f"{classes:.0f} classes: the retrain never learned the task"
            )
        elif abs(round(drop, 9)) > limit:
            problem = (
                f"the retrain remain accuracy is {100 * abs(drop):.1f} points "
                f"{'below' if drop > 0 else 'above'} the original's ({100 * remain:.1f}% vs "
                f"{100 * original:.1f}%)"
            )
        else:
            problem = ""
        rows.append(
            {
                **{k: r[k] for k in KEYS},
                "original_remain": original,
                "retrain_remain": remain,
                "drop": drop,
                "problem": problem,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def floor_verdicts(df: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, condition and row label (``method``; the original is judged too, the
    retrains are not) of rows already reduced to the reported settings: the mean gap and floor
    over seeds, the 95 % interval of gap − floor over seeds (where there are several), and
    ``verdict``: "within" when the gap is not above the floor on this evidence (one seed:
    gap ≤ floor; several: the interval's lower end ≤ 0), "beyond", or "no floor" (fewer than
    two references)."""
    columns = [
        "dataset", "condition", "method", "gap", "floor", "excess_low", "excess_high", "verdict",
    ]  # fmt: skip
    rows = []
    if df.empty:
        return pd.DataFrame(columns=columns)
    work = df[df["model_kind"] != "retrain"].assign(
        gap=numeric(df, "gap_mean"), floor=numeric(df, "floor_gap_mean")
    )
    for (dataset, condition, method), part in work.groupby(
        ["dataset", "condition", "method"], sort=False
    ):
        both = part.dropna(subset=["gap", "floor"])
        gap, floor = float(part["gap"].mean()), float(part["floor"].mean())
        low = high = math.nan
        if both.empty:
            verdict = "no floor"
        else:
            excess = (both["gap"] - both["floor"]).to_numpy()
            mean = float(excess.mean())
            if len(excess) >= 2:
                half = _t95(len(excess) - 1) * float(excess.std(ddof=1)) / math.sqrt(len(excess))
                low, high = mean - half, mean + half
                verdict = "within" if round(low, 12) <= 0 else "beyond"
            else:
                low = high = mean
                verdict = "within" if round(mean, 12) <= 0 else "beyond"
        rows.append(
            {
                "dataset": dataset,
                "condition": condition,
                "method": method,
                "gap": gap,
                "floor": floor,
                "excess_low": low,
                "excess_high": high,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows, columns=columns)


#: Two-sided 95 % Student t quantiles by degrees of freedom (1–30); 1.96 beyond.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def _t95(dof: int) -> float:
    return _T95[dof - 1] if dof <= len(_T95) else 1.96
