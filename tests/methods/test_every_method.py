"""Every method in the registry, on the toy problem: it forgets class 0, keeps the rest, leaves
the frozen original alone, and reruns bit-identically from the same seed (a rerun job must
reproduce the result it replaces).

One test over the registry instead of one per method file: a new method module is covered as soon
as it has a test-sized setting here, and ``test_every_method_has_a_setting`` fails until it does.
The problem (three classes of 1x8x8 images, each a fixed random pattern plus noise, learned by a
narrow AllCNN in a few seconds) and the seeding follow the unlearn step
(:func:`unlearning.runtime.seed_everything`). Method-specific behaviour is tested in
``test_<method>.py`` beside this file.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil

import pytest
import torch
from toy_problem import Problem, accuracy, build_problem, make_task

import unlearning.methods
from unlearning.methods import available_methods, get_method
from unlearning.methods.base import Params
from unlearning.runtime import seed_everything

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSES = 3

#: Test-sized settings (larger steps, fewer epochs). Methods that train on batches of the forget
#: class only use bn_mode eval: on a model this small, train-mode batch-norm statistics drift
#: toward that class.
SETTINGS: dict[str, dict] = {
    "bad_teacher": {"lr": 1e-3, "epochs": 3, "batch_size": 32, "remain_fraction": 0.5},
    "boundary_expand": {"lr": 2e-3, "epochs": 2, "batch_size": 32, "bn_mode": "eval"},
    "boundary_shrink": {"lr": 0.01, "epochs": 5, "batch_size": 32, "bn_mode": "eval"},
    "cf_k": {"k": 4, "lr": 0.1, "epochs": 4, "batch_size": 32},
    "compose": {"epochs": 1},
    "eu_k": {"k": 2, "lr": 0.05, "epochs": 4, "batch_size": 32},
    "finetune": {"lr": 0.05, "epochs": 3, "batch_size": 32},
    "grad_ascent": {"lr": 0.02, "epochs": 1, "batch_size": 32},
    "l1_sparse": {"lr": 0.05, "epochs": 3, "batch_size": 32, "alpha": 5e-3},
    "neggrad": {"lr": 0.05, "epochs": 3, "batch_size": 32, "alpha": 0.9},
    "psg": {"lr": 0.01, "epochs": 5, "batch_size": 32, "bn_mode": "eval"},
    "random_label": {"lr": 0.05, "epochs": 2, "batch_size": 32},
    "salun": {"lr": 0.05, "epochs": 3, "batch_size": 32, "mask_fraction": 0.5},
    "scrub": {
        "lr": 0.005,
        "epochs": 4,
        "max_steps": 2,
        "batch_size": 32,
        "forget_batch_size": 16,
        "alpha": 0.5,
        "gamma": 1.0,
    },
    "ssd": {"alpha": 1.0, "lambda": 1.0, "batch_size": 32},
}
SETTINGS["scrub_r"] = SETTINGS["scrub"]

#: Methods that forget by composing earlier runs rather than by unlearning: compose's result is
#: as forgetful as the runs it is given, so only its repeatability is tested here.
COMPOSES = {"compose"}

#: Settings whose loops are structurally different from the default's: tested for repeatability.
VARIANTS: list[tuple[str, dict]] = [
    ("psg", {"formulation": "reference", "epochs": 2}),
    ("psg", {"steps": 2, "lambda": 0.5, "gamma": 1e-3, "epochs": 2}),
    ("random_label", {"epoch_structure": "salun"}),
    ("salun", {"epoch_structure": "salun"}),
]


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(CLASSES, validation_per_class=16)


def _sources(problem: Problem) -> dict[str, torch.nn.Module]:
    """Two different frozen models for compose's roles: a finetuned copy and the original."""
    method = get_method("finetune")
    seed_everything(3)
    finetuned = method.run(make_task(problem, seed=3), method.parse_params({"epochs": 1}))
    frozen = [copy.deepcopy(m).eval().requires_grad_(False) for m in (finetuned, problem.original)]
    return {"head": frozen[0], "features": frozen[1]}


def unlearn(problem: Problem, name: str, seed: int = 1, **overrides) -> torch.nn.Module:
    method = get_method(name)
    params = method.parse_params({**SETTINGS[name], **overrides})
    task = make_task(problem, seed)
    if name in COMPOSES:
        task.sources = _sources(problem)
    seed_everything(seed)
    return method.run(task, params)


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_the_original_has_learned_the_problem(problem: Problem) -> None:
    assert accuracy(problem.original, problem.test_forget) >= 0.9
    assert accuracy(problem.original, problem.test_remain) >= 0.9


def test_every_method_has_a_setting() -> None:
    assert set(SETTINGS) == set(available_methods())


@pytest.mark.parametrize("name", available_methods())
def test_method_module_declares_a_method(name: str) -> None:
    method = get_method(name)
    assert issubclass(method.params_type, Params) and method.params_type.method == name
    method.params_type()  # the defaults are valid
    assert method.description and "\n" not in method.description
    assert callable(method.run)


def test_every_module_with_a_run_is_the_method_of_its_name() -> None:
    """A method's name is its module's (``Params.method`` is taken from the module that declares
    ``Params``): a module that reused another method's ``Params`` would carry that method's name
    and drop out of the registry without a word."""
    modules = pkgutil.iter_modules(unlearning.methods.__path__)
    names = [m.name for m in modules if not m.name.startswith("_")]
    for name in names:
        module = importlib.import_module(f"unlearning.methods.{name}")
        if callable(getattr(module, "run", None)):
            assert module.Params.method == name
            assert name in available_methods()
    assert set(available_methods()) <= set(names)


@pytest.mark.parametrize("name", sorted(set(SETTINGS) - COMPOSES))
def test_method_forgets_and_keeps_the_rest(problem: Problem, name: str) -> None:
    original = problem.original
    before = weights(original)
    model = unlearn(problem, name)

    assert accuracy(model, problem.test_forget) < accuracy(original, problem.test_forget)
    assert accuracy(model, problem.test_forget) <= 0.5
    assert accuracy(model, problem.test_remain) > 0.6  # chance is 1/3
    after = original.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not original.training
    assert all(p.grad is None and not p.requires_grad for p in original.parameters())


CASES = [(name, {}) for name in sorted(SETTINGS)] + VARIANTS


@pytest.mark.parametrize(
    ("name", "extra"), CASES, ids=[f"{n}{'-' + str(e) if e else ''}" for n, e in CASES]
)
def test_two_runs_give_bit_identical_weights(problem: Problem, name: str, extra: dict) -> None:
    first = weights(unlearn(problem, name, **extra))
    second = weights(unlearn(problem, name, **extra))
    assert first.keys() == second.keys()
    different = [k for k in first if not torch.equal(first[k], second[k])]
    assert not different, different
    changed = [k for k, v in problem.original.state_dict().items() if not torch.equal(v, first[k])]
    assert changed, f"{name} left every weight as it was: the comparison would prove nothing"


#: Methods that draw nothing at random: SSD dampens by a Fisher estimate over the whole sets.
SEED_FREE = {"ssd"}


@pytest.mark.parametrize("name", sorted(set(SETTINGS) - SEED_FREE))
def test_another_seed_gives_other_weights(problem: Problem, name: str) -> None:
    """The seed reaches the method's draws (a run that ignored it would rerun identically)."""
    first = weights(unlearn(problem, name, seed=1))
    other = weights(unlearn(problem, name, seed=2))
    assert any(not torch.equal(first[k], other[k]) for k in first)
