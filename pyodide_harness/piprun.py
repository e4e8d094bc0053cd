"""Run pip as if it were running inside Pyodide.

pip picks wheels by the target's tags when given ``--platform`` and friends
(:data:`target.PIP_PLATFORM_ARGS`), but still evaluates environment markers
(``sys_platform``, ``platform_machine``, ...) of transitive requirements against
the host, so a Linux host would pull ``x86_64``-only dependencies and skip
``emscripten``-only ones. pip therefore runs in a subprocess through a small
launcher that swaps ``pip._vendor.packaging.markers.default_environment``
(which ``Marker.evaluate`` looks up as a module global) for
:data:`target.MARKER_ENVIRONMENT`, and checks that the swap took effect
before pip starts.

pip runs as a subprocess of ``sys.executable`` (the host's Python, where the
harness is installed), so the user's pip configuration (indexes, mirrors,
credentials, certificates) applies unchanged, except in ``offline`` runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import DependencyError
from .target import MARKER_ENVIRONMENT

#: Exit statuses of the launcher for problems before pip runs.
LAUNCHER_OLD_PIP = 96
LAUNCHER_NO_PIP = 97
LAUNCHER_PATCH_FAILED = 98
#: The oldest pip whose ``install --report`` format is stable (version 1).
MIN_PIP = (23, 0)

NO_PIP = (
    "pip is not installed in {python}; the harness resolves Pyodide dependencies with it.\n"
    "Fix: {python} -m ensurepip, or `uv pip install pip` in this environment."
)
OLD_PIP = (
    "pip {version} in {python} is too old: the harness reads pip's installation report, "
    "stable since pip {minimum}.\nFix: {python} -m pip install -U pip"
)
PATCH_FAILED = (
    "The pip installed in {python} no longer evaluates environment markers through "
    "pip._vendor.packaging.markers.default_environment, so dependencies cannot be resolved "
    "for Pyodide.\nFix: install a pip version known to work (23.2 to 26) and report this to "
    "pytest-pyodide-harness."
)

# Runs in ``sys.executable -c``; argv[1] is the marker environment as JSON, the rest
# are pip's arguments. It refuses to go on if the patch does not change evaluation.
_LAUNCHER = f"""\
import json, sys
try:
    import pip
    from pip._vendor.packaging import markers
    from pip._internal.cli.main import main
except ImportError as exc:
    sys.stderr.write("pyodide-harness launcher: cannot import pip: %s\\n" % exc)
    sys.exit({LAUNCHER_NO_PIP})
_version = tuple(int(p) for p in pip.__version__.split(".")[:2] if p.isdigit())
if _version < {MIN_PIP!r}:
    sys.stderr.write("pyodide-harness launcher: pip %s\\n" % pip.__version__)
    sys.exit({LAUNCHER_OLD_PIP})
_env = json.loads(sys.argv[1])
def default_environment():
    return dict(_env)
markers.default_environment = default_environment
if not markers.Marker('sys_platform == "emscripten" and platform_machine == "wasm32"').evaluate():
    sys.stderr.write("pyodide-harness launcher: patching markers.default_environment "
                     "had no effect in this pip version\\n")
    sys.exit({LAUNCHER_PATCH_FAILED})
sys.exit(main(sys.argv[2:]))
"""


@dataclass(frozen=True)
class PipRun:
    """What one pip run printed (stdout and stderr together), and its exit status."""

    returncode: int
    output: str


def run_pip(arguments: Sequence[str], *, offline: bool = False, timeout: float | None = None) -> PipRun:
    """Run ``pip <arguments>`` through the marker-patching launcher.

    ``offline`` runs pip with no configuration at all (``--isolated`` drops PIP_*
    variables and the user's file, ``PIP_CONFIG_FILE=os.devnull`` the global and
    site files), so find-links or indexes from the configuration cannot reach the
    network; the caller passes ``--no-index`` and local find-links. ``timeout``
    (seconds) ends a pip that hangs with a :class:`DependencyError`.
    """
    env = dict(os.environ)
    # Failure messages are read (see resolver), so keep pip at its normal verbosity.
    env.update({"PIP_QUIET": "0", "PIP_VERBOSE": "0", "PYTHONIOENCODING": "utf-8"})
    if offline:
        env["PIP_CONFIG_FILE"] = os.devnull
        arguments = [*arguments[:1], "--isolated", *arguments[1:]]
    command = [
        sys.executable, "-c", _LAUNCHER, json.dumps(MARKER_ENVIRONMENT),
        *arguments[:1], "--no-input", "--disable-pip-version-check", "--progress-bar", "off",
        *arguments[1:],
    ]  # fmt: skip
    try:
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              encoding="utf-8", errors="replace", env=env, check=False,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise DependencyError(
            f"pip did not finish within {timeout:g} s (pip {' '.join(arguments[:1])}).\n"
            "Fix: check that the package index is reachable (pip's configuration and PIP_* "
            "variables apply)."
        ) from exc
    except OSError as exc:
        raise DependencyError(f"Cannot run {sys.executable} to run pip: {exc}.") from exc
    python = sys.executable
    if proc.returncode == LAUNCHER_NO_PIP:
        raise DependencyError(NO_PIP.format(python=python))
    if proc.returncode == LAUNCHER_OLD_PIP:
        version = proc.stdout.strip().rsplit(" ", 1)[-1]
        raise DependencyError(OLD_PIP.format(version=version, python=python,
                                             minimum=".".join(map(str, MIN_PIP))))
    if proc.returncode == LAUNCHER_PATCH_FAILED:
        raise DependencyError(PATCH_FAILED.format(python=python))
    return PipRun(proc.returncode, proc.stdout)
