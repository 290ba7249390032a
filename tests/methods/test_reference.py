"""The parameter reference in docs/ is generated from the methods' declarations and kept current."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from unlearning.methods import available_methods, get_method
from unlearning.methods.__main__ import reference

ROOT = Path(__file__).resolve().parents[2]


def test_docs_methods_md_is_the_generated_reference():
    committed = (ROOT / "docs" / "methods.md").read_text()
    assert committed == reference(), (
        "docs/methods.md is stale; run: python -m unlearning.methods > docs/methods.md"
    )


def test_every_parameter_has_a_check():
    """A field without a check would accept any value silently."""
    for name in available_methods():
        kind = get_method(name).params_type
        unchecked = [f.name for f in dataclasses.fields(kind) if f.name not in kind.checks()]
        assert not unchecked, f"{name}: {unchecked} have no check"
