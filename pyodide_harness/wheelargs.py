"""Wheels given the way shells give them: ``pytest --pyodide-wheel dist/*.whl``.

The shell expands the glob before pytest sees it, so the option takes the first
file and the others arrive as positional arguments, which pytest would take for
test paths. Here every positional ``.whl`` argument becomes a wheel under test
again, and the whole expansion is treated like the quoted glob: builds for
other platforms are skipped with a note.

pytest also picks its rootdir from the positional arguments before any plugin
is loaded, so a wheel outside the project given with a space
(``cd sdist && pytest --pyodide-wheel ../wheelhouse/x.whl tests``) can move the
rootdir away from the project and its config. When that happened, pytest is run
once more with those wheels written as ``--pyodide-wheel=PATH`` (which pytest's
rootdir search ignores), so the rootdir and config are the ones a plain
``pytest tests`` would use there.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

OPTION = "--pyodide-wheel"
EXPANDED_KEY = pytest.StashKey[bool]()  # set when positional .whl arguments became wheels
RERUN_ENV = "PYODIDE_HARNESS_RERUN"
RERUN_NOTE = ("pyodide-harness: {wheels} outside the project moved pytest's rootdir to {wrong}; "
              "running pytest again with --pyodide-wheel=PATH so the rootdir is {right}")


def _space_values(args: Sequence[str]) -> list[str]:
    """Values given as ``--pyodide-wheel VALUE`` (not ``=``): pytest's rootdir search
    took them for test paths."""
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == OPTION]


def take_positional_wheels(config: pytest.Config, args: list[str]) -> None:
    """Move positional .whl arguments into ``--pyodide-wheel`` (``args`` is changed in
    place, as pytest parses it next); re-run pytest when they moved the rootdir."""
    from .wheels import is_wheel_argument  # only harness runs pay for the wheel machinery

    namespace = config.known_args_namespace
    positional = [a for a in namespace.file_or_dir if is_wheel_argument(str(a))]
    _rerun_if_rootdir_moved(config, [*_space_values(config.invocation_params.args), *positional])
    if not positional:
        return
    for token in positional:
        for index, arg in enumerate(args):
            if arg == token and (index == 0 or args[index - 1] != OPTION):
                del args[index]
                break
    args.extend(f"{OPTION}={token}" for token in positional)
    namespace.file_or_dir = [a for a in namespace.file_or_dir if a not in positional]
    namespace.pyodide_wheel = [*namespace.pyodide_wheel, *positional]
    config.stash[EXPANDED_KEY] = True


def _setup_without(config: pytest.Config, wheels: Sequence[str]) -> tuple[Path, Path | None] | None:
    """The rootdir and ini file pytest would pick without the given wheel arguments."""
    try:
        from _pytest.config.findpaths import determine_setup
    except ImportError:  # pragma: no cover - a pytest that moved it: trust its choice
        return None
    namespace = config.known_args_namespace
    known: dict[str, Any] = {
        "inifile": namespace.inifilename, "override_ini": namespace.override_ini,
        "args": [str(a) for a in namespace.file_or_dir if a not in wheels],
        "rootdir_cmd_arg": namespace.rootdir or None,
        "invocation_dir": config.invocation_params.dir,
    }
    accepted = inspect.signature(determine_setup).parameters
    try:
        found = determine_setup(**{k: v for k, v in known.items() if k in accepted})
    except Exception:  # a config error: pytest reports it on the run that follows
        return None
    return Path(found[0]), Path(found[1]) if found[1] else None


def _rerun_if_rootdir_moved(config: pytest.Config, wheels: list[str]) -> None:
    if not wheels or os.environ.get(RERUN_ENV):
        return
    if not any(Path(config.invocation_params.dir, w).exists() for w in wheels):
        return  # globs or missing files: they did not take part in the rootdir search
    setup = _setup_without(config, wheels)
    if setup is None or (setup[0] == config.rootpath and setup[1] == config.inipath):
        return
    args = list(config.invocation_params.args)
    new_args: list[str] = []
    skip = False
    for index, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == OPTION and index + 1 < len(args):
            new_args.append(f"{OPTION}={args[index + 1]}")
            skip = True
        elif arg in wheels:
            new_args.append(f"{OPTION}={arg}")
        else:
            new_args.append(arg)
    sys.stderr.write(RERUN_NOTE.format(wheels=", ".join(wheels), wrong=config.rootpath,
                                       right=setup[0]) + "\n")
    env = {**os.environ, RERUN_ENV: "1"}
    command = [sys.executable, "-m", "pytest", *new_args]
    with subprocess.Popen(command, cwd=config.invocation_params.dir, env=env) as proc:
        try:
            code = proc.wait()
        except KeyboardInterrupt:  # the terminal's Ctrl-C reached the child too
            code = proc.wait()
    raise SystemExit(code)
