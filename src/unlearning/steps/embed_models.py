"""The t-SNE step: maps of the same test images through several models (rule embed_models)."""

from __future__ import annotations

from pathlib import Path

from unlearning.atomic import write_npz
from unlearning.data.prepared import load_prepared
from unlearning.models import load_checkpoint
from unlearning.runtime import seed_everything, select_device
from unlearning.steps.evaluate import subsets
from unlearning.steps.files import load_split


def embed_models(
    data_folder: str | Path,
    split_path: str | Path,
    model_paths: dict[str, str | Path],
    device_name: str,
    out_npz: str | Path,
    *,
    max_points: int,
    seed: int,
    batch_size: int,
) -> str:
    """t-SNE maps of the same test images through each named model (rule embed_models)."""
    from unlearning import embedding

    data = load_prepared(data_folder)
    parts = subsets(data, load_split(split_path))
    device = select_device(device_name)
    seed_everything(seed)
    models = {
        name: load_checkpoint(path, map_location=device)[0] for name, path in model_paths.items()
    }
    arrays = embedding.embed_models(
        models,
        parts["test_forget"],
        parts["test_remain"],
        device,
        max_points=max_points,
        seed=seed,
        batch_size=batch_size,
    )
    write_npz(out_npz, arrays)
    return f"t-SNE maps of {len(arrays['labels'])} test samples for {', '.join(models)}"
