"""Re-reading the config files Snakemake loaded, to refuse what its loader silently accepts.

Snakemake (through PyYAML and ``json``) keeps the last of two equal keys in a mapping, so a
setting written twice loses its first definition without a word. The workflow calls
:func:`check_config_files` on ``workflow.configfiles`` before any other check. Torch-free.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import yaml

from unlearning.errors import UserError

_MERGE_TAG = "tag:yaml.org,2002:merge"


def _key_text(path: list[str]) -> str:
    return ".".join(path) or "(top level)"


def _find_duplicate(loader: yaml.SafeLoader, root: yaml.Node) -> tuple[str, int, int] | None:
    """(key path, first line, second line) of the first key a mapping defines twice, else None.

    ``<<`` merge keys are skipped: a key written next to a merge overrides the merged one, which
    is YAML's meaning, not a mistake. Shared (anchored) nodes are checked once.
    """
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, list[str]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            children = []
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    children.append((value_node, path))
                    continue
                key = loader.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:  # a mapping or list as key: compare its text
                    key = repr(key)
                line = key_node.start_mark.line + 1
                if key in first_line:
                    return _key_text([*path, str(key)]), first_line[key], line
                first_line[key] = line
                children.append((value_node, [*path, str(key)]))
            stack.extend(reversed(children))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(
                (item, [*path[:-1], f"{path[-1] if path else ''}[{i}]"])
                for i, item in reversed(list(enumerate(node.value)))
            )
    return None


def check_config_file(path: str | os.PathLike) -> None:
    """Refuse a config file that defines a key twice, or is not valid YAML, naming file and line."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise UserError(
            f"Config file {path} cannot be read ({exc.strerror or exc}); check the path given "
            "with --configfile."
        ) from exc
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        found = _find_duplicate(loader, root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(
            f"Config file {path} is not valid YAML{where} ({problem}); fix the file there."
        ) from exc
    finally:
        loader.dispose()
    if found is not None:
        key, first, second = found
        lines = f"on line {first}" if first == second else f"(lines {first} and {second})"
        raise UserError(
            f"Config file {path} defines '{key}' twice {lines}, and only the second would "
            "count; keep one of them."
        )


def check_config_files(paths: Iterable[str | os.PathLike]) -> None:
    """:func:`check_config_file` for every file, in the order Snakemake read them."""
    for path in paths:
        check_config_file(path)


def main(argv: list[str] | None = None) -> int:
    """``python -m unlearning.config_load FILE...``: check config files for YAML errors and keys
    given twice, naming file and line. Snakemake reads ``--configfile`` files itself before the
    workflow's own checks run, and answers a YAML error with a message that names neither."""
    import sys

    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m unlearning.config_load FILE...", file=sys.stderr)
        return 2
    try:
        check_config_files(paths)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{', '.join(map(str, paths))}: valid YAML, no key given twice")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
