"""Figure 3: the prediction path evaluation runs (``predict_logits``) against ``model(x)`` under
``no_grad`` over the same images in the same batch size."""

from __future__ import annotations

import torch

from unlearning.bench import fixtures
from unlearning.bench.timing import versus_bare
from unlearning.metrics.predict import predict_logits


def bare_predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[s : s + batch_size]) for s in range(0, len(x), batch_size)])


def measure(device: torch.device, sizes: fixtures.Sizes) -> dict[str, object]:
    net = fixtures.model(sizes, device)
    data, x, _ = fixtures.both_sides(sizes.eval_images, sizes, device, seed=1)
    batch = sizes.eval_batch_size
    result = versus_bare(
        lambda: predict_logits(net, data, device, batch),
        lambda: bare_predict(net, x, batch),
        device,
        sizes,
        images=sizes.eval_images,
    )
    return {"workload": f"{sizes.describe()}, {sizes.eval_images} images, batch {batch}", **result}
