"""The t-SNE figure and its saved maps."""

from __future__ import annotations

import numpy as np
import pytest
import synthetic_results as sr
from figure_checks import check_figure

from unlearning.errors import UserError
from unlearning.plots import tsne
from unlearning.plots.common import FULL_WIDTH


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
    check_figure(paths, FULL_WIDTH, may_grow=True)
    # Without names (and with more labels than names) the class index is the name.
    check_figure(
        tsne.draw(emb, "toy", tmp_path / "plain", class_names=["a"]), FULL_WIDTH, may_grow=True
    )


def test_tsne_without_a_retrain_draws_two_panels(tmp_path):
    path = tmp_path / "tsne.npz"
    np.savez(path, **{k: v for k, v in sr.tsne().items() if k != "retrain"})
    emb = tsne.load_embedding(path)
    assert "retrain" not in emb
    png = tsne.draw(emb, "toy", tmp_path / "two")[0]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
