"""Selective-unlearning, loss-histogram and t-SNE figures, on the synthetic results set."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import synthetic_results as sr

from unlearning.errors import UserError
from unlearning.plots import losses, selective, tsne
from unlearning.plots.common import COLUMN_WIDTH, DPI, FULL_WIDTH
from unlearning.tables.selection import best_settings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


def check_outputs(paths: list[Path], width_in: float) -> None:
    """PNG + PDF written, of sensible size, and the PNG about ``width_in`` wide at DPI."""
    png, pdf = paths
    assert (png.suffix, pdf.suffix) == (".png", ".pdf")
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    assert pdf.read_bytes().startswith(b"%PDF")
    for path in paths:
        assert 5_000 < path.stat().st_size < 2_000_000, path
    width, height = png_size(png)
    # bbox_inches="tight" trims or pads a little around the nominal width.
    assert 0.8 * width_in * DPI < width < 1.25 * width_in * DPI
    assert 0.2 * width < height < 2 * width


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return sr.metrics_table()


# --- selective --------------------------------------------------------------------------------


def test_series_finds_the_fraction_class(table):
    assert selective.series(table, sr.DATASET) == [1]
    assert selective.series(table, "other") == []


def test_series_needs_two_fractions(table):
    one = table[table["condition"].isin(["class_1", "class_1_frac25"])]
    assert selective.series(one, sr.DATASET) == [1]
    only_class = table[table["condition"] == "class_1"]
    assert selective.series(only_class, sr.DATASET) == []
    only_fraction = table[table["condition"] == "class_1_frac50"]
    assert selective.series(only_fraction, sr.DATASET) == []


def test_points_are_seed_means_of_the_reported_setting(table):
    data = selective.points(table, sr.DATASET, 1)
    assert list(data.columns[:5]) == ["model", "fraction", "metric", "mean", "std"]
    assert sorted(data["fraction"].unique()) == [0.25, 0.5, 1.0]
    assert {"original", "retrain", "psg", "finetune", "ssd", "compose"} == set(data["model"])

    best = best_settings(table)
    chosen = best[(best["condition"] == "class_1_frac50") & (best["method"] == "psg")]
    setting = chosen["setting"].item()
    rows = table[
        (table["condition"] == "class_1_frac50")
        & (table["method"] == "psg")
        & (table["setting"] == setting)
    ]
    point = data[(data["model"] == "psg") & (data["fraction"] == 0.5)]
    point = point[point["metric"] == "acc_forget"].iloc[0]
    assert point["mean"] == pytest.approx(rows["acc_forget"].mean())
    assert point["std"] == pytest.approx(rows["acc_forget"].std(ddof=1))
    assert point["n"] == len(sr.SEEDS)

    # The class condition is the 100% point.
    retrain = data[(data["model"] == "retrain") & (data["metric"] == "acc_forget")]
    full = table[(table["condition"] == "class_1") & (table["model_kind"] == "retrain")]
    assert retrain.set_index("fraction").loc[1.0, "mean"] == pytest.approx(
        full["acc_forget"].mean()
    )


def test_points_keep_missing_values_missing(table, tmp_path):
    df = table.copy()
    finetune_25 = (df["method"] == "finetune") & (df["condition"] == "class_1_frac25")
    df.loc[finetune_25, "acc_test"] = np.nan
    df.loc[finetune_25 & (df["seed"] == 0), "mia_efficacy"] = np.nan
    data = selective.points(df, sr.DATASET, 1).set_index(["model", "fraction", "metric"])
    missing = data.loc[("finetune", 0.25, "acc_test")]
    assert np.isnan(missing["mean"]) and missing["n"] == 0
    partial = data.loc[("finetune", 0.25, "mia_efficacy")]
    expected = df.loc[finetune_25 & (df["seed"] != 0), "mia_efficacy"].mean()
    assert partial["mean"] == pytest.approx(expected) and partial["n"] == 2
    check_outputs(selective.draw(df, sr.DATASET, 1, tmp_path / "gaps"), COLUMN_WIDTH)


def test_selective_draw(table, tmp_path):
    paths = selective.draw(table, sr.DATASET, 1, tmp_path / "figs" / "selective_toy_1")
    assert paths == [tmp_path / "figs" / f"selective_toy_1.{s}" for s in ("png", "pdf")]
    check_outputs(paths, COLUMN_WIDTH)


def test_selective_draw_many_methods(table, tmp_path):
    finetune = table[table["method"] == "finetune"]
    names = [f"method_{i:02d}" for i in range(16)]
    clones = [
        finetune.assign(method=name, acc_forget=finetune["acc_forget"] * (i + 1) / 16)
        for i, name in enumerate(names)
    ]
    df = pd.concat([table[table["model_kind"] != "unlearned"], *clones], ignore_index=True)
    check_outputs(selective.draw(df, sr.DATASET, 1, tmp_path / "many"), FULL_WIDTH)


def test_selective_draw_without_series_is_a_user_error(table, tmp_path):
    with pytest.raises(UserError, match="class 3"):
        selective.draw(table, sr.DATASET, 3, tmp_path / "none")


# --- losses -----------------------------------------------------------------------------------


def test_load_losses_round_trip(tmp_path):
    path = tmp_path / "losses.npz"
    sr.write_losses(path, "retrain")
    arrays = losses.load_losses(path)
    expected = sr.losses("retrain")
    assert set(arrays) == {"train_forget", "test_forget", "test_remain"}
    for key, values in expected.items():
        np.testing.assert_allclose(arrays[key], values)


@pytest.mark.parametrize("problem", ["missing", "garbage", "truncated", "shape", "key"])
def test_load_losses_rejects_bad_files(tmp_path, problem):
    path = tmp_path / "losses.npz"
    if problem == "garbage":
        path.write_bytes(b"\x00garbage, not an npz archive" * 20)
    elif problem == "truncated":
        sr.write_losses(path, "original")
        path.write_bytes(path.read_bytes()[:200])
    elif problem == "shape":
        np.savez(path, **{**sr.losses("original"), "test_remain": np.zeros((4, 3))})
    elif problem == "key":
        np.savez(path, train_forget=np.ones(3), test_forget=np.ones(3))
    with pytest.raises(UserError, match="rerun the evaluation rule that writes it") as info:
        losses.load_losses(path)
    assert str(path) in str(info.value)


def test_losses_draw_with_empty_and_zero_losses(tmp_path):
    psg = {**sr.losses("psg", 2), "test_forget": np.array([], np.float32)}
    psg["train_forget"] = np.concatenate([np.zeros(10), [np.nan], psg["train_forget"]])
    panels = {
        "original": sr.losses("original"),
        "retrain": sr.losses("retrain", 1),
        "psg (gamma=0)": psg,
        "nothing": {k: np.array([]) for k in losses.GROUPS},
    }
    check_outputs(losses.draw(panels, "toy, class 1", tmp_path / "losses"), COLUMN_WIDTH)


# --- t-SNE ------------------------------------------------------------------------------------


def test_load_embedding_round_trip(tmp_path):
    path = tmp_path / "tsne.npz"
    sr.write_tsne(path)
    emb = tsne.load_embedding(path)
    expected = sr.tsne()
    assert emb["forget"].dtype == bool and emb["labels"].dtype == np.int64
    np.testing.assert_array_equal(emb["labels"], expected["labels"])
    np.testing.assert_allclose(emb["unlearned"], expected["unlearned"])


@pytest.mark.parametrize("problem", ["missing", "garbage", "coords", "labels", "forget", "key"])
def test_load_embedding_rejects_bad_files(tmp_path, problem):
    path = tmp_path / "tsne.npz"
    arrays = sr.tsne()
    if problem == "garbage":
        path.write_bytes(b"PK\x03\x04 broken zip" * 50)
    elif problem == "coords":
        np.savez(path, **{**arrays, "retrain": np.zeros((len(arrays["labels"]), 3))})
    elif problem == "labels":
        np.savez(path, **{**arrays, "labels": arrays["labels"][:-1]})
    elif problem == "forget":
        np.savez(path, **{**arrays, "forget": np.full(len(arrays["labels"]), 0.5)})
    elif problem == "key":
        np.savez(path, **{k: v for k, v in arrays.items() if k != "unlearned"})
    with pytest.raises(UserError, match="rerun the embed_models rule that writes it") as info:
        tsne.load_embedding(path)
    assert str(path) in str(info.value)


def test_tsne_draw(tmp_path):
    emb = sr.tsne()
    paths = tsne.draw(
        emb,
        "toy, class 1",
        tmp_path / "tsne",
        unlearned_label="psg",
        class_names=["airplane", "automobile", "bird", "cat"],
    )
    check_outputs(paths, FULL_WIDTH)
    # Without names (and with more labels than names) the class index is the name.
    check_outputs(tsne.draw(emb, "toy", tmp_path / "plain", class_names=["a"]), FULL_WIDTH)


def test_tsne_without_a_retrain_draws_two_panels(tmp_path):
    path = tmp_path / "tsne.npz"
    np.savez(path, **{k: v for k, v in sr.tsne().items() if k != "retrain"})
    emb = tsne.load_embedding(path)
    assert "retrain" not in emb
    png = tsne.draw(emb, "toy", tmp_path / "two")[0]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
