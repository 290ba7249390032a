"""Every method in the catalogue, run twice on the CPU from the same seed, gives bit-identical
weights (and so identical metrics): a rerun job must reproduce the result it replaces.

In-process on the toy problem, seeded as the unlearn step seeds a job
(:func:`unlearning.runtime.seed_everything`); the end-to-end rerun of one job through Snakemake
is in test_workflow.py, and the fault tests compare whole reruns.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from toy_problem import Problem, build_problem, make_task

from unlearning import hparams
from unlearning.methods import available_methods, get_method
from unlearning.runtime import seed_everything

pytestmark = pytest.mark.usefixtures("one_thread")

#: Extra settings where a method has structurally different loops.
VARIANTS = {
    "psg": [{"formulation": "reference"}],
    "random_label": [{"epoch_structure": "salun"}],
    "salun": [{"epoch_structure": "salun"}],
}
CASES = [(name, {}) for name in available_methods()] + [
    (name, extra) for name, variants in VARIANTS.items() for extra in variants
]


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(3, validation_per_class=8)


def _params(name: str, extra: dict) -> dict:
    """Test-sized (at most two epochs); every method must change some weight."""
    fields = {f.name for f in dataclasses.fields(hparams.params_type(name))}
    raw = {"epochs": 2} if "epochs" in fields else {}
    if "max_steps" in fields:
        raw["max_steps"] = 1
    if name == "compose":
        raw["epochs"] = 1
    if name == "ssd":  # the paper's alpha dampens nothing when a third of the data is forgotten
        raw.update(alpha=1.0, batch_size=32)
    return {**raw, **extra}


def _sources(problem: Problem) -> dict[str, torch.nn.Module]:
    """Two different frozen models for compose: the original and a finetuned copy."""
    method = get_method("finetune")
    seed_everything(3)
    finetuned = method.run(make_task(problem, seed=3), method.parse_params({"epochs": 1}))
    frozen = [copy.deepcopy(m).eval().requires_grad_(False) for m in (finetuned, problem.original)]
    return dict(zip(hparams.compose.SOURCE_ROLES, frozen, strict=True))


def _run(problem: Problem, name: str, extra: dict) -> dict[str, torch.Tensor]:
    method = get_method(name)
    params = method.parse_params(_params(name, extra))
    seed_everything(1)
    task = make_task(problem, seed=1)
    if name == "compose":
        task.sources = _sources(problem)
        seed_everything(1)
    model = method.run(task, params)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_every_method_is_covered():
    assert {name for name, _ in CASES} == set(hparams.available_methods())


@pytest.mark.parametrize(
    ("name", "extra"), CASES, ids=[f"{n}{'-' + str(e) if e else ''}" for n, e in CASES]
)
def test_two_runs_give_bit_identical_weights(problem, name, extra):
    first = _run(problem, name, extra)
    second = _run(problem, name, extra)
    assert first.keys() == second.keys()
    different = [k for k in first if not torch.equal(first[k], second[k])]
    assert not different, different
    changed = [k for k, v in problem.original.state_dict().items() if not torch.equal(v, first[k])]
    assert changed, f"{name} left every weight as it was: the comparison would prove nothing"
