"""The Pyodide release the harness targets: every fact about it, in one place.

Pyodide 314 runs CPython 3.14.2 built with Emscripten 5.0.3 and installs wheels
tagged ``pyemscripten_2026_0_wasm32`` (PEP 783; ``pyodide_2026_0_wasm32`` is the
older alias it still accepts). Wheel checks, the dependency resolver, the
settings and the runtimes all ask this module, so moving to the next Pyodide
ABI is a change here, not a search through the code.
"""

from __future__ import annotations

import re

from packaging.tags import Tag, compatible_tags, cpython_tags

from .errors import HarnessError

#: The Pyodide release used when none is asked for.
DEFAULT_VERSION = "314.0.7"
#: Releases of this family share the ABI below; others need another harness release.
SERIES = "314"

PYTHON_VERSION = "3.14.2"
PYTHON_MAJOR_MINOR = (3, 14)
EMSCRIPTEN_VERSION = "5.0.3"

#: PEP 783 name first, then the pre-standard alias Pyodide 314 still installs.
PLATFORMS = ("pyemscripten_2026_0_wasm32", "pyodide_2026_0_wasm32")
PLATFORM = PLATFORMS[0]
#: The tag a compiled wheel for this target carries.
NEEDED_TAG = f"cp314-cp314-{PLATFORM}"

#: Built with packaging's own generators so acceptance matches what an installer for
#: CPython 3.14 on this platform accepts: cp314, cp32..cp314 abi3, py3x-none, *-none-any.
SUPPORTED_TAGS: frozenset[Tag] = frozenset(
    cpython_tags(python_version=PYTHON_MAJOR_MINOR, abis=["cp314"], platforms=PLATFORMS)
) | frozenset(
    compatible_tags(python_version=PYTHON_MAJOR_MINOR, interpreter="cp314", platforms=PLATFORMS)
)

#: The module suffixes Pyodide 314's importer tries (importlib.machinery.EXTENSION_SUFFIXES).
EXTENSION_SUFFIXES = (".cpython-314-wasm32-emscripten.so", ".abi3.so", ".so")

#: The marker environment of Pyodide 314.0.x, for evaluating Requires-Dist markers.
MARKER_ENVIRONMENT: dict[str, str] = {
    "python_version": "3.14",
    "python_full_version": PYTHON_VERSION,
    "implementation_name": "cpython",
    "implementation_version": PYTHON_VERSION,
    "platform_python_implementation": "CPython",
    "sys_platform": "emscripten",
    "platform_system": "Emscripten",
    "platform_machine": "wasm32",
    "os_name": "posix",
    "platform_release": EMSCRIPTEN_VERSION,
    "platform_version": "",
}

#: pip's options that select wheels Pyodide 314 installs.
PIP_PLATFORM_ARGS: tuple[str, ...] = (
    "--only-binary=:all:",
    "--platform", PLATFORMS[0],
    "--platform", PLATFORMS[1],
    "--platform", "any",
    "--python-version", "3.14",
    "--implementation", "cp",
    "--abi", "cp314",
    "--abi", "abi3",
    "--abi", "none",
)  # fmt: skip

#: Inside every runtime: the home directory, and where the test tree is unpacked.
HOME_DIR = "/home/pyodide"
PROJECT_DIR = f"{HOME_DIR}/project"
#: Inside every runtime: where the wheels are installed (``site.getsitepackages()``).
SITE_PACKAGES = "/lib/python{}.{}/site-packages".format(*PYTHON_MAJOR_MINOR)

_VERSION = re.compile(r"^(?P<series>\d+)\.\d+\.\d+(?:[.+-]?[0-9A-Za-z.]+)?$")

UNSUPPORTED_VERSION = (
    "Pyodide {version} from {where} is not a Pyodide {series} release: this harness tests "
    "wheels for Pyodide {series} (Python {python}, {platform}).\n"
    "Fix: pass a {series}.x version such as {default}, or leave the option out."
)


def check_version(version: str, where: str) -> str:
    """A Pyodide version of the supported series, or a HarnessError naming the fix."""
    match = _VERSION.match(version.strip())
    if match is None or match["series"] != SERIES:
        raise HarnessError(UNSUPPORTED_VERSION.format(
            version=version, where=where, series=SERIES, python=PYTHON_VERSION,
            platform=PLATFORM, default=DEFAULT_VERSION))
    return version.strip()
