"""Checks of the run's inputs that need no runtime; every failure is a usage error.

Wheels (tags, archives), the requirement files named, the gate's baseline and the
runtime binaries are checked before anything boots, so a mistake costs a second,
not a Pyodide boot, and exits 4 with a message that names the fix.
"""

from __future__ import annotations

import os

import pytest

from . import wheels
from .errors import HarnessError
from .settings import Settings

NO_REQUIREMENTS_FILE = "--pyodide-requirements {path}: no such file (relative to {base})"
BROWSER_NOT_FOUND = ("--pyodide-browser-path {name}={path}: {why}. Pass the path of an "
                     "executable browser, or leave the option out to use Playwright's or the "
                     "system's browser")


def check_inputs(config: pytest.Config, settings: Settings) -> wheels.WheelIntake:
    """The usable wheels; raises HarnessError (exit 4) naming the problem and the fix."""
    base = config.invocation_params.dir
    intake = wheels.collect_wheels(settings.wheels, base,
                                   shell_expanded=settings.shell_expanded)
    for path in settings.requirements_files:
        if not (base / path).is_file():
            raise HarnessError(NO_REQUIREMENTS_FILE.format(path=path, base=base))
    for name, path in settings.browser_paths:
        if not path.is_file():
            raise HarnessError(BROWSER_NOT_FOUND.format(name=name, path=path, why="no such file"))
        if not os.access(path, os.X_OK):
            raise HarnessError(BROWSER_NOT_FOUND.format(name=name, path=path, why="not executable"))
    if "node" in settings.runtimes:
        _check_node(settings)
    return intake


def _check_node(settings: Settings) -> None:
    """The Node binary runs, is new enough and can be confined as asked (the probe is
    remembered across runs, so this costs nothing on the next run). Its HarnessError is a
    usage error here, before anything boots: the plugin turns it into one."""
    from .runners.node import find_node, require_sandbox

    require_sandbox(find_node(settings.node), settings.sandbox)
