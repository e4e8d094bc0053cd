"""Whether Pyodide can install a wheel with a given set of tags, and what to say when not.

The acceptance rule is ``target.SUPPORTED_TAGS`` (packaging's own tag generators). This
module adds the explanation: a refused tag set is described tag by tag (another
Pyodide ABI and its release, another Python, a native platform) with the fix for each,
because "not supported" alone sends users searching.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import Tag

from . import target

_PYODIDE = f"Pyodide {target.SERIES}"
_PYODIDE_PLATFORM = re.compile(r"(?:pyemscripten|pyodide)_(?P<year>\d+)_(?P<patch>\d+)_wasm32")
_EMSCRIPTEN_PLATFORM = re.compile(r"emscripten_(?P<version>\d+_\d+_\d+)_wasm32")
_PYTHON_TAG = re.compile(r"(?P<impl>cp|py)(?P<major>\d)(?P<minor>\d*)")


def _abi_of(platform: str) -> tuple[int, int]:
    match = _PYODIDE_PLATFORM.fullmatch(platform)
    assert match is not None, platform
    return int(match["year"]), int(match["patch"])


_TARGET_ABI = _abi_of(target.PLATFORM)
_TARGET_PYTHON = target.PYTHON_MAJOR_MINOR
_CP = "cp{}{}".format(*_TARGET_PYTHON)
_PYTHON_SHORT = "{}.{}".format(*_TARGET_PYTHON)

# Known Pyodide platform tags and the release they belong to; anything else gets a
# generic text built from the tag itself.
PYODIDE_PLATFORM_ERAS: dict[str, str] = {
    "pyemscripten_2025_0_wasm32": "the Pyodide 0.28/0.29 era (Python 3.13)",
    "pyodide_2025_0_wasm32": "the Pyodide 0.28/0.29 era (Python 3.13)",
    "pyodide_2024_0_wasm32": "Pyodide 0.27 (Python 3.12)",
    "emscripten_3_1_58_wasm32": "Pyodide 0.26 (Python 3.12), a pre-PEP 783 tag",
    "emscripten_3_1_46_wasm32": "Pyodide 0.25 (Python 3.11), a pre-PEP 783 tag",
    "emscripten_3_1_45_wasm32": "Pyodide 0.24 (Python 3.11), a pre-PEP 783 tag",
    "emscripten_3_1_32_wasm32": "Pyodide 0.23 (Python 3.11), a pre-PEP 783 tag",
}
ERA_PYODIDE_ABI = (
    "the Pyodide ABI {abi}, {relation} " + _PYODIDE
    + f" (ABI {_TARGET_ABI[0]}_{_TARGET_ABI[1]}, Python {_PYTHON_SHORT})"
)
ERA_EMSCRIPTEN = (
    "an older Pyodide built with Emscripten {version}, a pre-PEP 783 tag "
    f"({_PYODIDE} uses Emscripten {target.EMSCRIPTEN_VERSION})"
)

# --- user-facing messages (tests import these) -------------------------------------

NEEDED = (
    f"{target.NEEDED_TAG} (or the legacy alias {_CP}-{_CP}-{target.PLATFORMS[1]}; "
    f"cp3X-abi3 with X <= {_TARGET_PYTHON[1]} on those platforms also works), or a pure-Python tag "
    "such as py3-none-any"
)
MSG_INCOMPATIBLE = (
    "Wheel {wheel} cannot be installed in " + _PYODIDE + ".\n"
    "  It is tagged {tags}: {reason}.\n"
    "  " + _PYODIDE + " needs {needed}.\n"
    "  Fix: {fix}"
)
REASON_OTHER_PYODIDE = "{platform} is the platform tag of {era}"
REASON_OTHER_PYTHON = (
    "built for {python}; " + _PYODIDE + " runs CPython " + target.PYTHON_VERSION
)
REASON_NATIVE = "a native wheel for {system}, not an Emscripten/WebAssembly wheel for Pyodide"
FIX_REBUILD = (
    f"rebuild it for {_PYODIDE} and {_CP}: `cibuildwheel --platform pyodide` "
    f"(build identifier {_CP}-pyodide_wasm32) or `pyodide build` with a {_PYODIDE} "
    f"cross-build environment, so the wheel is tagged {target.NEEDED_TAG}"
)
FIX_NATIVE = (
    "build a Pyodide wheel with `cibuildwheel --platform pyodide` or `pyodide build` "
    "and pass that .whl"
)
FIX_PURE = "build it as a universal pure-Python wheel (py3-none-any)"
SKIPPED_WHY = "tagged {tags}: {reason}"

_SYSTEMS = (
    ("manylinux", "Linux"),
    ("musllinux", "Linux (musl)"),
    ("linux", "Linux"),
    ("macosx", "macOS"),
    ("win", "Windows"),
    ("android", "Android"),
    ("ios", "iOS"),
    ("wasi", "WASI"),
)


@dataclass(frozen=True)
class Refusal:
    """Why a wheel's tags do not fit the target, and what to do about it.

    ``native`` is true when every tag is for a native platform: a cibuildwheel
    ``dist/`` holds such wheels beside the Pyodide one, so a glob may skip them.
    """

    tags: str
    native: bool
    reason: str
    fix: str

    def message(self, path: Path) -> str:
        return MSG_INCOMPATIBLE.format(
            wheel=path, tags=self.tags, reason=self.reason, needed=NEEDED, fix=self.fix
        )

    def why(self) -> str:
        return SKIPPED_WHY.format(tags=self.tags, reason=self.reason)


def tag_list(tags: Iterable[Tag | str]) -> str:
    """Tags as users read them in file names, sorted so messages are stable."""
    return ", ".join(sorted(str(tag) for tag in tags))


def is_pure(tags: Iterable[Tag]) -> bool:
    """A wheel for any platform: every tag's platform is ``any``."""
    return all(tag.platform == "any" for tag in tags)


def refusal(tags: frozenset[Tag]) -> Refusal | None:
    """None if any tag is one the target installs, else the explanation of all tags."""
    if tags & target.SUPPORTED_TAGS:
        return None
    reasons: list[str] = []
    fixes: list[str] = []
    native_platforms: dict[str, list[str]] = {}  # system -> platforms, to say "Linux" once
    for tag in sorted(tags, key=str):
        explained = _explain(tag)
        if explained is None:
            system = next((n for prefix, n in _SYSTEMS if tag.platform.startswith(prefix)), "")
            platforms = native_platforms.setdefault(system, [])
            if tag.platform not in platforms:
                platforms.append(tag.platform)
        elif explained[0] not in reasons:
            reasons.append(explained[0])
            fixes.append(explained[1])
    for system, platforms in native_platforms.items():
        listed = ", ".join(platforms)
        described = f"{system} ({listed})" if system else listed
        reasons.append(REASON_NATIVE.format(system=described))
    return Refusal(
        tags=tag_list(tags),
        native=not fixes,
        reason="; ".join(reasons),
        fix=fixes[0] if fixes else FIX_NATIVE,
    )


def _explain(tag: Tag) -> tuple[str, str] | None:
    """What a Pyodide or pure tag was built for and how to rebuild; None for native tags."""
    platform = tag.platform
    if platform in target.PLATFORMS:
        return _explain_python(tag), FIX_REBUILD
    if platform == "any":
        return _explain_python(tag), FIX_PURE
    era = _pyodide_era(platform)
    if era is not None:
        return REASON_OTHER_PYODIDE.format(platform=platform, era=era), FIX_REBUILD
    return None


def _pyodide_era(platform: str) -> str | None:
    known = PYODIDE_PLATFORM_ERAS.get(platform)
    if known is not None:
        return known
    if _PYODIDE_PLATFORM.fullmatch(platform) is not None:
        abi = _abi_of(platform)
        relation = "an older ABI than" if abi < _TARGET_ABI else "a newer ABI than"
        return ERA_PYODIDE_ABI.format(abi=f"{abi[0]}_{abi[1]}", relation=relation)
    match = _EMSCRIPTEN_PLATFORM.fullmatch(platform)
    if match is not None:
        return ERA_EMSCRIPTEN.format(version=match["version"].replace("_", "."))
    return None


def _explain_python(tag: Tag) -> str:
    """Say which Python a tag on an acceptable platform was built for."""
    match = _PYTHON_TAG.fullmatch(tag.interpreter)
    if match is None:
        python = f"the {tag.interpreter} interpreter ({tag.interpreter}-{tag.abi}), not CPython"
        return REASON_OTHER_PYTHON.format(python=python)
    major, minor = match["major"], match["minor"]
    version = f"{major}.{minor}" if minor else major
    newer = int(major) == _TARGET_PYTHON[0] and minor != "" and int(minor) > _TARGET_PYTHON[1]
    if match["impl"] == "py":
        if int(major) != _TARGET_PYTHON[0]:
            python = f"Python {version} only"
        elif newer:
            python = f"Python {version} or later"
        else:
            python = f"Python {version} with the {tag.abi} ABI"
    elif tag.abi == "abi3":
        python = f"the stable ABI of CPython {version} and later"
    elif tag.abi.endswith("t") and tag.abi[:-1] == tag.interpreter:
        python = f"free-threaded CPython {version}t"
    elif tag.abi in ("none", tag.interpreter):
        python = f"CPython {version}"
    else:
        python = f"CPython {version} with the {tag.abi} ABI"
    return REASON_OTHER_PYTHON.format(python=python)
