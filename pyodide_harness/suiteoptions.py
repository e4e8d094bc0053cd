"""The suite's own options and ini keys, known on the host without running its conftests.

With the harness, no conftest.py of the project is imported by the host's Python
(``plugin.py`` turns pytest's conftest loading off): its hooks and fixtures run
inside the runtimes only. But the user still types the suite's options
(``pytest --pyodide-wheel dist/x.whl --runslow``) and its config still sets the
ini keys a conftest declares. So the conftests are read, not run: their
``pytest_addoption`` bodies are parsed with ``ast`` and every
``addoption``/``addini`` call whose arguments are literals is declared on the
host, where it is accepted, listed by ``--help`` and passed on unchanged to the
session inside each runtime, whose real conftest parses it.

Limits: a declaration with computed names (a loop, a variable) cannot be read;
it is listed in the "unrecognized arguments" error with the way around it,
``--pyodide-arg=--the-option``, which hands any argument to the runtime's pytest
as is. Values are not checked on the host (types, choices): the runtime's pytest
checks them and a bad value is a usage error from there.
"""

from __future__ import annotations

import argparse
import ast
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .hostplugins import NO_ARG_ACTIONS, cli_args, parser_options

GROUP = "pyodide-harness: the suite's options (read from its conftest.py, passed into the runtime)"
DEST_PREFIX = "pyodide_suite_option_"
UNREADABLE = "{origin}: {what} with arguments computed at run time"
HINT = ("options of the suite's conftest.py files are read without running them ({count} found); "
        "one declared with computed arguments can be passed as --pyodide-arg=--name=value")
SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "node_modules",
                       "__pycache__", "build", "dist", ".eggs", ".mypy_cache", ".pytest_cache"})


@dataclass(frozen=True)
class OptionDecl:
    names: tuple[str, ...]
    takes_value: bool
    nargs: int | str | None  # argparse's nargs for options that take values
    help: str
    origin: str  # "tests/conftest.py:12"


@dataclass(frozen=True)
class IniDecl:
    name: str
    help: str
    type: str | None
    origin: str


@dataclass
class Declarations:
    options: list[OptionDecl] = field(default_factory=list)
    inis: list[IniDecl] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def find_conftests(rootpath: Path) -> list[Path]:
    """Every conftest.py of the tree, outside virtualenvs, VCS data and build outputs."""
    found = []
    for dirpath, dirnames, filenames in os.walk(rootpath):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIP_DIRS and not d.endswith(".egg-info")
                             and not (Path(dirpath, d) / "pyvenv.cfg").exists())
        if "conftest.py" in filenames:
            found.append(Path(dirpath, "conftest.py"))
    return found


def _literal(node: ast.AST | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _Unreadable


class _Unreadable:
    """A value ``ast.literal_eval`` could not compute."""


def _plugin_files(tree: ast.Module, rootpath: Path) -> list[Path]:
    """Modules a conftest names in ``pytest_plugins`` that live in the project."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets):
            value = _literal(node.value)
            if isinstance(value, str):
                names.append(value)
            elif isinstance(value, list | tuple):
                names += [v for v in value if isinstance(v, str)]
    files = []
    for name in names:
        rel = Path(*name.split("."))
        for base in (rootpath, rootpath / "src"):
            for candidate in (base / rel.with_suffix(".py"), base / rel / "__init__.py"):
                if candidate.is_file():
                    files.append(candidate)
    return files


def read_declarations(rootpath: Path) -> Declarations:
    """The options and ini keys declared by the tree's conftests and their plugins."""
    decls = Declarations()
    todo = find_conftests(rootpath)
    seen: set[Path] = set()
    while todo:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError):
            continue  # the runtime's pytest reports a broken conftest; nothing to declare
        try:
            rel = path.relative_to(rootpath).as_posix()
        except ValueError:
            rel = str(path)
        todo += _plugin_files(tree, rootpath)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) \
                    and node.name == "pytest_addoption":
                _read_hook(node, rel, decls)
    return decls


def _read_hook(hook: ast.FunctionDef | ast.AsyncFunctionDef, rel: str, decls: Declarations) -> None:
    for node in ast.walk(hook):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method = node.func.attr
        origin = f"{rel}:{node.lineno}"
        if method in ("addoption", "_addoption"):
            _read_addoption(node, origin, decls)
        elif method == "addini":
            _read_addini(node, origin, decls)


def _read_addoption(node: ast.Call, origin: str, decls: Declarations) -> None:
    names = [_literal(a) for a in node.args]
    if not names or any(not isinstance(n, str) for n in names):
        decls.unreadable.append(UNREADABLE.format(origin=origin, what="addoption"))
        return
    kwargs = {k.arg: _literal(k.value) for k in node.keywords if k.arg is not None}
    if any(k.arg is None for k in node.keywords):  # **kwargs: the action is not known
        decls.unreadable.append(UNREADABLE.format(origin=origin, what="addoption"))
        return
    action = kwargs.get("action", "store")
    nargs = kwargs.get("nargs")
    if action is _Unreadable or nargs is _Unreadable:
        decls.unreadable.append(UNREADABLE.format(origin=origin, what="addoption"))
        return
    takes_value = not (isinstance(action, str) and action in NO_ARG_ACTIONS) and nargs != 0
    if not isinstance(action, str) and nargs is None:
        nargs = None  # a custom Action class: taken as one value, argparse's default
    help_text = kwargs.get("help")
    decls.options.append(OptionDecl(
        names=tuple(names), takes_value=takes_value,
        nargs=nargs if isinstance(nargs, int | str) else None,
        help=help_text if isinstance(help_text, str) else "", origin=origin))


def _read_addini(node: ast.Call, origin: str, decls: Declarations) -> None:
    name = _literal(node.args[0]) if node.args else _literal(
        next((k.value for k in node.keywords if k.arg == "name"), None))
    if not isinstance(name, str):
        decls.unreadable.append(UNREADABLE.format(origin=origin, what="addini"))
        return
    kwargs = {k.arg: _literal(k.value) for k in node.keywords if k.arg is not None}
    help_text = _literal(node.args[1]) if len(node.args) > 1 else kwargs.get("help")
    kind = _literal(node.args[2]) if len(node.args) > 2 else kwargs.get("type")
    decls.inis.append(IniDecl(name, help_text if isinstance(help_text, str) else "",
                              kind if isinstance(kind, str) else None, origin))


def _known_option_names(parser: pytest.Parser) -> set[str]:
    """Option strings the host's parser already has (pytest's and installed plugins')."""
    names: set[str] = set()
    for option in parser_options(parser):
        names.update(option.names())
    return names


def declare(parser: pytest.Parser, decls: Declarations) -> list[OptionDecl]:
    """Declare the suite's options and ini keys on the host; returns those declared.

    An option a host plugin already has keeps its host meaning (and is not passed on).
    """
    known = _known_option_names(parser)
    group = parser.getgroup("pyodide-harness-suite", GROUP)
    declared = []
    for index, decl in enumerate(decls.options):
        if known.intersection(decl.names):
            continue
        known.update(decl.names)
        help_text = f"{decl.help} (from {decl.origin})".strip()
        if decl.takes_value:
            metavar = decl.names[-1].lstrip("-").upper().replace("-", "_")  # as argparse's own
            group.addoption(*decl.names, action="append", nargs=decl.nargs, default=None,
                            dest=f"{DEST_PREFIX}{index}", help=help_text, metavar=metavar)
        else:
            group.addoption(*decl.names, action="count", default=None,
                            dest=f"{DEST_PREFIX}{index}", help=help_text)
        declared.append(decl)
    ini_known = set(getattr(parser, "_inidict", {}))
    for ini in decls.inis:
        if ini.name in ini_known:
            continue
        ini_known.add(ini.name)
        kind = ini.type if ini.type in ("string", "paths", "pathlist", "args", "linelist",
                                        "bool", "int", "float") else None
        parser.addini(ini.name, f"{ini.help} (from {ini.origin})".strip(), type=kind)  # type: ignore[arg-type]
    count = len(declared) + len(decls.inis)
    parser.extra_info["pyodide-harness"] = HINT.format(count=count)
    return declared


# Options declared on the host, kept for ``forwarded`` (set by the plugin's early hook).
DECLARED_KEY = pytest.StashKey[list[OptionDecl]]()


def forwarded(config: pytest.Config) -> list[str]:
    """The suite options given on the command line or in PYTEST_ADDOPTS, as tokens for the
    runtime's pytest (ini ``addopts`` are not repeated: the runtime reads the same ini)."""
    declared = config.stash.get(DECLARED_KEY, [])
    if not declared:
        return []
    return tokens_for(declared, cli_args(config))


def tokens_for(declared: Sequence[OptionDecl], args: Sequence[str]) -> list[str]:
    """Pick the declared options out of a command line, in a form argparse reads back."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for index, decl in enumerate(declared):
        if decl.takes_value:
            parser.add_argument(*decl.names, action="append", nargs=decl.nargs,
                                dest=f"o{index}")
        else:
            parser.add_argument(*decl.names, action="count", dest=f"o{index}")
    try:
        namespace, _rest = parser.parse_known_args(list(args))
    except SystemExit:  # an option given without its value: the host already said so
        return []
    tokens: list[str] = []
    for index, decl in enumerate(declared):
        value = getattr(namespace, f"o{index}")
        if not value:
            continue
        name = decl.names[-1] if decl.names[-1].startswith("--") else decl.names[0]
        if not decl.takes_value:
            tokens += [name] * int(value)
            continue
        for occurrence in value:
            values = occurrence if isinstance(occurrence, list) else [occurrence]
            if decl.nargs is None and len(values) == 1:
                tokens.append(f"{name}={values[0]}")
            else:
                tokens += [name, *(str(v) for v in values)]
    return tokens
