"""Figure 1: an epoch of ``train_classifier`` against a plain SGD loop on the same model and
images; what the project's loop adds (batch drawing, scheduler, progress, loss bookkeeping)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from unlearning.bench import fixtures
from unlearning.bench.timing import versus_bare
from unlearning.training import TrainConfig, train_classifier

LR, MOMENTUM, WEIGHT_DECAY = 0.01, 0.9, 5e-4


def bare_epoch(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
) -> None:
    model.train()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY
    )
    order = torch.randperm(len(y), generator=generator).to(x.device)
    for start in range(0, len(y), batch_size):
        idx = order[start : start + batch_size]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def measure(device: torch.device, sizes: fixtures.Sizes) -> dict[str, object]:
    net = fixtures.model(sizes, device)
    data, x, y = fixtures.both_sides(sizes.train_images, sizes, device)
    config = TrainConfig(
        epochs=1,
        batch_size=sizes.batch_size,
        lr=LR,
        momentum=MOMENTUM,
        weight_decay=WEIGHT_DECAY,
        schedule="cosine",
        augment="none",
    )
    g_project, g_bare = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    result = versus_bare(
        lambda: train_classifier(
            net, data, config, device=device, generator=g_project, progress=False
        ),
        lambda: bare_epoch(net, x, y, sizes.batch_size, g_bare),
        device,
        sizes,
        images=sizes.train_images,
    )
    workload = f"{sizes.describe()}, {sizes.train_images} images, batch {sizes.batch_size}"
    return {"workload": workload, **result}
