"""What a method declares: its parameters, each with its default, its bounds and its source.

A method's ``Params`` dataclass is the one place its hyperparameters are written. The workflow
validates a config with it while it parses (so this module imports no torch), the job builds it
again from the same values, and the parameter reference (``python -m unlearning.methods``) is
printed from it. A field is declared with :func:`param`, which carries the check; a subclass that
only changes a default writes ``lr: float = 0.01`` and keeps the check its base declared.
"""

from __future__ import annotations

import dataclasses
import functools
import keyword
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from unlearning.errors import UserError

#: Modes of the model during a method's updates (batch-norm statistics move only in train).
BN_MODES = ("train", "eval")

#: Batch augmentations; the same tuple as ``unlearning.data.imageset.AUGMENTATIONS`` (a test
#: checks), repeated because that module imports torch.
AUGMENTATIONS = ("none", "crop_flip", "crop", "flip")


def config_key(field_name: str) -> str:
    """Field -> config key: ``lambda`` is a Python keyword, so its field is ``lambda_``."""
    bare = field_name.removesuffix("_")
    return bare if keyword.iskeyword(bare) else field_name


def field_name(key: str) -> str:
    """Config key -> field (the inverse of :func:`config_key`)."""
    return key + "_" if keyword.iskeyword(key) else key


# --- checks -------------------------------------------------------------------------------------


class Check:
    """A rule one value must meet; returns the value normalised (``"1e-5"`` -> ``1e-05``)."""

    requirement = "a valid value"

    def __call__(self, value: Any) -> Any:
        raise NotImplementedError


def _number(value: Any) -> float | None:
    """Ints, floats and numeric strings (YAML reads ``1e-5`` without a dot as a string), but
    never NaN, infinity or booleans."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):  # not a number, or an int beyond any float
        return None
    return number if math.isfinite(number) else None


class Rejected(Exception):
    """A value broke a :class:`Check`; :class:`Params` turns it into a sentence naming the key.
    The argument, when given, replaces the check's requirement (a word that is not a number is
    told so, not given the range)."""


@dataclass(frozen=True)
class Number(Check):
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    @property
    def requirement(self) -> str:  # type: ignore[override]
        low, high = self.low, self.high
        if low is not None and high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"a number in {left}{low:g}, {high:g}{right}"
        if low is not None:
            return f"a number {'>' if self.low_open else '>='} {low:g}"
        if high is not None:
            return f"a number {'<' if self.high_open else '<='} {high:g}"
        return "a finite number"

    def __call__(self, value: Any) -> float:
        x = _number(value)
        if x is None:
            raise Rejected("a finite number")
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            raise Rejected
        if self.high is not None and (x >= self.high if self.high_open else x > self.high):
            raise Rejected
        return x


@dataclass(frozen=True)
class Integer(Check):
    low: int = 0

    @property
    def requirement(self) -> str:  # type: ignore[override]
        return f"an integer >= {self.low}"

    def __call__(self, value: Any) -> int:
        x = _number(value)
        if x is None:
            raise Rejected("a finite number")
        if x != int(x) or x < self.low:
            raise Rejected
        return int(x)


@dataclass(frozen=True)
class Choice(Check):
    choices: tuple[str, ...]

    @property
    def requirement(self) -> str:  # type: ignore[override]
        return "one of " + ", ".join(self.choices)

    def __call__(self, value: Any) -> str:
        if value not in self.choices:
            raise Rejected
        return value


@dataclass(frozen=True)
class Flag(Check):
    requirement = "true or false"

    def __call__(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise Rejected
        return value


@dataclass(frozen=True)
class Optional(Check):
    """``None`` (which the method reads as "derived from another value") or a checked value."""

    inner: Check

    @property
    def requirement(self) -> str:  # type: ignore[override]
        return f"null or {self.inner.requirement}"

    def __call__(self, value: Any) -> Any:
        return None if value is None else self.inner(value)


@dataclass(frozen=True)
class PerChannel(Check):
    """One to three numbers, one per image channel, kept as a tuple so settings compare."""

    each: Number

    @property
    def requirement(self) -> str:  # type: ignore[override]
        return f"a list of 1 to 3 numbers (per channel), each {self.each.requirement}"

    def __call__(self, value: Any) -> tuple[float, ...]:
        if not isinstance(value, list | tuple) or not 1 <= len(value) <= 3:
            raise Rejected
        return tuple(self.each(v) for v in value)


@dataclass(frozen=True)
class Text(Check):
    """Free text, such as compose's ``method/setting`` references (checked by the method)."""

    requirement = "a string"

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise Rejected
        return value


def param(default: Any, check: Check | None = None, source: str = "") -> Any:
    """A field with its check and the paper or code its default comes from. Without a check the
    field keeps the one a base class declared for it."""
    metadata = {"source": source} if source else {}
    if check is not None:
        metadata["check"] = check
    return dataclasses.field(default=default, metadata=metadata)


# --- parameters ---------------------------------------------------------------------------------


@dataclass
class Params:
    """The base of every method's parameters: checks each field, then :meth:`check`.

    ``method`` is the name of the module that declares the class: the registry finds a method
    as ``unlearning.methods.<name>``, so that module name is the config's name for it, and
    messages, progress bars and logs read it from here rather than a method writing it again.
    """

    method: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.method = cls.__module__.rpartition(".")[2]

    def __post_init__(self) -> None:
        for name, check in self.checks().items():
            setattr(self, name, self.checked(name, getattr(self, name), check))
        self.check()

    def check(self) -> None:
        """Rules between fields; a subclass raises :meth:`error` when they are broken."""

    def checked(self, name: str, value: Any, check: Check) -> Any:
        try:
            return check(value)
        except Rejected as rejected:
            requirement = rejected.args[0] if rejected.args else check.requirement
            raise self.error(name, f"must be {requirement}, got {value!r}") from None

    def error(self, name: str, problem: str) -> UserError:
        """One sentence naming the config key and where to fix it."""
        key = config_key(name)
        return UserError(
            f"{self.method}: {key} {problem}; fix methods.{self.method}.params.{key} in the config."
        )

    @classmethod
    @functools.cache
    def checks(cls) -> dict[str, Check]:
        """Field -> check, the nearest declaration in the class hierarchy winning."""
        return cls._declared("check")

    @classmethod
    def default_sources(cls) -> dict[str, str]:
        """Field -> where its default comes from, the nearest declaration winning."""
        return cls._declared("source")

    @classmethod
    def _declared(cls, key: str) -> dict[str, Any]:
        """Field -> its ``param`` metadata ``key``, from the nearest class that declares it (a
        subclass that only changes a default keeps what its base declared)."""
        found: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            for f in vars(klass).get("__dataclass_fields__", {}).values():
                if key in f.metadata:
                    found[f.name] = f.metadata[key]
        return {f.name: found[f.name] for f in dataclasses.fields(cls) if f.name in found}

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Params:
        """Build from config keys; an unknown key is a user error naming it."""
        values = {field_name(k): v for k, v in raw.items()}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(config_key(k) for k in set(values) - known)
        if unknown:
            raise UserError(
                f"Unknown hyperparameter(s) {unknown} for method '{cls.method}'; use only "
                f"{sorted(config_key(k) for k in known)} under methods.{cls.method} in the config."
            )
        return cls(**values)

    def resolved(self) -> dict[str, Any]:
        """Every value the run uses, defaults included, under its config key."""
        return {config_key(f.name): getattr(self, f.name) for f in dataclasses.fields(self)}

    def source_runs(self) -> dict[str, str]:
        """Role -> ``method/setting`` of the earlier runs this setting builds on (compose's two);
        the workflow wires their models in as inputs."""
        return {}

    def computation(self) -> dict[str, Any]:
        """The values with everything that cannot change the result set to its default: two
        settings with equal computations run the same arithmetic (the config check refuses
        them). Methods whose fields can be inert override it."""
        return self.resolved()


_FINETUNE = "the usual CIFAR fine-tuning baseline (shared SGD default)"


@dataclass
class SGDParams(Params):
    """The optimizer fields every SGD-trained method has. The defaults are the fine-tuning
    baseline's; a method redeclares those it changes (``lr: float = 1e-5``), keeping the check."""

    lr: float = param(0.01, Number(0.0, low_open=True), source=_FINETUNE)
    momentum: float = param(0.9, Number(0.0, 1.0, high_open=True), source=_FINETUNE)
    weight_decay: float = param(5e-4, Number(0.0), source=_FINETUNE)
    epochs: int = param(5, Integer(1), source=_FINETUNE)
    batch_size: int = param(64, Integer(1), source=_FINETUNE)
