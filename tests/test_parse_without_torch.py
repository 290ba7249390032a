"""Parsing the workflow must not import torch: it costs over a second per start, and on a cluster
every job parses the workflow again. Parameters live in ``unlearning.hparams`` for that reason."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unlearning import hparams
from unlearning.errors import UserError
from unlearning.methods import available_methods, get_method, register

ROOT = Path(__file__).resolve().parents[1]
MARKER = "torch imported:"


def run_python(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def torch_imported(result: subprocess.CompletedProcess) -> bool:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARKER)]
    assert lines, result.stdout[-2000:]
    return lines[-1].removeprefix(MARKER).strip() == "True"


def test_config_modules_import_without_torch():
    result = run_python(
        "import sys\n"
        "import unlearning.config_check, unlearning.settings, unlearning.hparams\n"
        "import unlearning.methods, unlearning.runtime, unlearning.plots\n"
        f"print({MARKER!r}, 'torch' in sys.modules)\n"
    )
    assert not torch_imported(result)


def test_dry_run_of_the_workflow_imports_no_torch():
    result = run_python(
        "import atexit, sys\n"
        f"atexit.register(lambda: print({MARKER!r}, 'torch' in sys.modules, flush=True))\n"
        "sys.argv = ['snakemake', '-n', '--cores', '1', '--quiet']\n"
        "from snakemake.cli import main\n"
        "main()\n"
    )
    assert not torch_imported(result)


@pytest.mark.parametrize("name", sorted(hparams.CATALOGUE))
def test_catalogue_params_are_the_methods_params(name):
    params_type, description = hparams.CATALOGUE[name]
    module = importlib.import_module(
        "unlearning.methods." + params_type.__module__.rpartition(".")[2]
    )
    assert getattr(module, params_type.__name__) is params_type
    if module.__name__.endswith("." + name):
        assert module.Params is params_type
    method = get_method(name)
    assert (method.params_type, method.description) == (params_type, description)
    assert callable(method.run)
    assert method.run.__module__ == module.__name__


def test_every_method_is_listed_and_runnable_by_name():
    assert available_methods() == hparams.available_methods() == sorted(hparams.CATALOGUE)
    for name in available_methods():
        assert callable(get_method(name).run)


def test_unknown_method_is_the_same_user_error_everywhere():
    with pytest.raises(UserError, match="Unknown unlearning method 'nope'; choose one of") as a:
        get_method("nope")
    with pytest.raises(UserError) as b:
        hparams.parse_params("nope", {})
    assert str(a.value) == str(b.value)


def test_parse_params_maps_keywords_and_names_unknown_keys():
    assert hparams.parse_params("ssd", {"lambda": 2}).lambda_ == 2.0
    assert hparams.resolved_params("ssd", {})["lambda"] == 1.0
    with pytest.raises(UserError, match=r"Unknown hyperparameter\(s\) \['gamm'\] for method 'psg'"):
        hparams.parse_params("psg", {"gamm": 0.1})


def test_register_refuses_params_that_are_not_in_the_catalogue():
    with pytest.raises(ValueError, match="CATALOGUE"):
        register("psg_variant", hparams.psg.Params, hparams.psg.DESCRIPTION)(lambda task, p: None)


def test_augmentations_match_the_data_module():
    from unlearning.data.imageset import AUGMENTATIONS

    assert hparams.checks.AUGMENTATIONS == AUGMENTATIONS
