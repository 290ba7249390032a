"""grad_ascent's parameters are checked with messages naming the config key."""

from __future__ import annotations

import pytest

from unlearning.errors import UserError
from unlearning.methods import get_method


@pytest.mark.parametrize(("key", "value"), [("lr", 0.0), ("epochs", 0)])
def test_bad_params_name_the_config_key(key: str, value: object) -> None:
    with pytest.raises(UserError, match=rf"grad_ascent\.params\.{key}\b"):
        get_method("grad_ascent").parse_params({key: value})
