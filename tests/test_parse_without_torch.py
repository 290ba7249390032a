"""Parsing the workflow must not import torch: it costs over a second per start, and on a cluster
every job parses the workflow again. Method modules load torch lazily for that reason
(:mod:`unlearning.lazy`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unlearning.errors import UserError
from unlearning.methods import available_methods, base, get_method, parse_params, resolved_params

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
        "import unlearning.config_check, unlearning.settings, unlearning.methods.common\n"
        "import unlearning.methods, unlearning.runtime, unlearning.plots\n"
        "import unlearning.report_settings\n"
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


@pytest.mark.parametrize("name", available_methods())
def test_reading_a_method_imports_no_torch(name):
    """A method module declares its Params beside its code; reading them must not load torch."""
    result = run_python(
        "import sys\n"
        "from unlearning.methods import get_method\n"
        f"method = get_method({name!r})\n"
        "method.params_type(); method.run\n"
        f"print({MARKER!r}, 'torch' in sys.modules)\n"
    )
    assert not torch_imported(result)


def test_unknown_method_is_the_same_user_error_everywhere():
    with pytest.raises(UserError, match="Unknown unlearning method 'nope'; choose one of") as a:
        get_method("nope")
    with pytest.raises(UserError) as b:
        parse_params("nope", {})
    assert str(a.value) == str(b.value)
    for name in ("base", "registry", "common", "_private", "psg_reference", "a.b"):
        with pytest.raises(UserError, match=f"Unknown unlearning method '{name}'"):
            get_method(name)


def test_parse_params_maps_keywords_and_names_unknown_keys():
    assert parse_params("ssd", {"lambda": 2}).lambda_ == 2.0
    assert resolved_params("ssd", {})["lambda"] == 1.0
    with pytest.raises(UserError, match=r"Unknown hyperparameter\(s\) \['gamm'\] for method 'psg'"):
        parse_params("psg", {"gamm": 0.1})


def test_augmentations_match_the_data_module():
    from unlearning.data.imageset import AUGMENTATIONS

    assert base.AUGMENTATIONS == AUGMENTATIONS
