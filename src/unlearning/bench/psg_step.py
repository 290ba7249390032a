"""Figure 2: one psg iteration (pixel formulation) through the method registry against the same
arithmetic written out here: per-sample sign-gradient steps on the frozen original to boundary
points, their labels under the original, then one SGD step of the model on them.

The settings are the digits default of ``config/config.yaml`` (two steps of 0.15 in a 0.3 ball,
closeness 1e-3, Gaussian noise 1e-4, hard targets, no remain term), so both sides do the work a
default run does. The forget set is one batch, so a run of the method is one iteration.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F

from unlearning.bench import fixtures
from unlearning.bench.timing import versus_bare
from unlearning.methods import UnlearningTask, get_method

PARAMS = {
    "formulation": "pixel",
    "epsilon": 0.3,
    "steps": 2,
    "step_size": 0.15,
    "lambda": 1.0e-3,
    "gamma": 1.0e-4,
    "noise": "gaussian",
    "phi": 0.0,
    "targets": "hard",
    "lr": 3.0e-3,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "epochs": 1,
}
LEVELS = 255.0


def bare_iteration(
    model: torch.nn.Module,
    original: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator,
    params: dict[str, Any] = PARAMS,
) -> None:
    """One psg iteration on the batch ``(x, y)`` as plain PyTorch, for the settings in ``params``
    (pixel formulation, hard targets, no remain term)."""
    eps, alpha, lam, gamma = (params[k] for k in ("epsilon", "step_size", "lambda", "gamma"))
    model.train()
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=params["lr"],
        momentum=params["momentum"],
        weight_decay=params["weight_decay"],
    )
    low = torch.ceil((x - eps) * LEVELS - 1e-4).clamp_(min=0.0) / LEVELS
    high = torch.floor((x + eps) * LEVELS + 1e-4).clamp_(max=LEVELS) / LEVELS
    x_adv = x
    for _ in range(params["steps"]):
        leaf = x_adv.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(original(leaf), y, reduction="sum"), leaf)
        noise = torch.randn(x.shape, generator=generator).to(x.device)
        direction = grad - lam * (x_adv - x) + gamma * noise
        stepped = torch.minimum(torch.maximum(x_adv + alpha * direction.sign(), low), high)
        x_adv = torch.round(stepped * LEVELS) / LEVELS
    with torch.no_grad():
        target = original(x_adv).argmax(dim=1)
    loss = F.cross_entropy(model(x), target)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def measure(device: torch.device, sizes: fixtures.Sizes) -> dict[str, object]:
    net = fixtures.model(sizes, device)
    original = copy.deepcopy(net).eval().requires_grad_(False)
    forget, x, y = fixtures.both_sides(sizes.batch_size, sizes, device, seed=2)
    method = get_method("psg")
    params = method.parse_params({**PARAMS, "batch_size": sizes.batch_size})
    task = UnlearningTask(
        model=net,
        original=original,
        forget=forget,
        remain=fixtures.both_sides(sizes.batch_size, sizes, device, seed=3)[0],
        validation=forget,
        num_classes=fixtures.NUM_CLASSES,
        device=device,
        generator=torch.Generator().manual_seed(0),
        progress=False,
    )
    g_bare = torch.Generator().manual_seed(0)
    c = versus_bare(
        lambda: method.run(task, params),
        lambda: bare_iteration(net, original, x, y, g_bare),
        device,
        sizes,
    )
    return {
        "workload": f"{sizes.describe()}, one batch of {sizes.batch_size}, K = 2",
        "images": sizes.batch_size,
        "project_s_per_iteration": c["project_s"],
        "bare_s_per_iteration": c["bare_s"],
        **c,
    }
