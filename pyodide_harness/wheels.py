"""Find the wheels given to ``--pyodide-wheel`` and check that Pyodide 314 can use them.

Everything here runs on the host before any runtime boots: a wrong tag, a host-built
``.so`` or a damaged archive is cheap to spot in a zip listing, while micropip inside
the runtime would fail late, tersely, or (for RECORD) not at all. The module does not
import pytest, so the CLI and other tools can use it too.
"""

from __future__ import annotations

import base64
import csv
import functools
import glob
import hashlib
import io
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from email.parser import HeaderParser
from pathlib import Path
from typing import Literal

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from pyodide_harness.errors import WheelError

OPTION = "--pyodide-wheel"
PYODIDE_PYTHON = "3.14.2"
PYODIDE_EMSCRIPTEN = "5.0.3"

# PEP 783 name first, then the pre-standard alias Pyodide 314 still installs.
PYODIDE_314_PLATFORMS = ("pyemscripten_2026_0_wasm32", "pyodide_2026_0_wasm32")

# Built with packaging's own generators so acceptance matches what an installer for
# CPython 3.14 on this platform accepts: cp314, cp32..cp314 abi3, py3x-none, *-none-any.
SUPPORTED_TAGS: frozenset[Tag] = frozenset(
    cpython_tags(python_version=(3, 14), abis=["cp314"], platforms=PYODIDE_314_PLATFORMS)
) | frozenset(
    compatible_tags(python_version=(3, 14), interpreter="cp314", platforms=PYODIDE_314_PLATFORMS)
)

# The module suffixes Pyodide 314's importer tries (importlib.machinery.EXTENSION_SUFFIXES).
PYODIDE_EXTENSION_SUFFIXES = (".cpython-314-wasm32-emscripten.so", ".abi3.so", ".so")

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
ERA_PYODIDE_ABI = "the Pyodide ABI {abi}, {relation} Pyodide 314 (ABI 2026_0, Python 3.14)"
ERA_EMSCRIPTEN = (
    "an older Pyodide built with Emscripten {version}, a pre-PEP 783 tag "
    "(Pyodide 314 uses Emscripten " + PYODIDE_EMSCRIPTEN + ")"
)

# --- user-facing messages (tests import these) -------------------------------------

NEEDED_TAG = "cp314-cp314-pyemscripten_2026_0_wasm32"
NEEDED = (
    f"{NEEDED_TAG} (or the legacy alias cp314-cp314-pyodide_2026_0_wasm32; "
    "cp3X-abi3 with X <= 14 on those platforms also works), or a pure-Python tag "
    "such as py3-none-any"
)

MSG_INCOMPATIBLE = (
    "Wheel {wheel} cannot be installed in Pyodide 314.\n"
    "  It is tagged {tags}: {reason}.\n"
    "  Pyodide 314 needs {needed}.\n"
    "  Fix: {fix}"
)
REASON_OTHER_PYODIDE = "{platform} is the platform tag of {era}"
REASON_OTHER_PYTHON = "built for {python}; Pyodide 314 runs CPython " + PYODIDE_PYTHON
REASON_NATIVE = "a native wheel for {system}, not an Emscripten/WebAssembly wheel for Pyodide"
FIX_REBUILD = (
    "rebuild it for Pyodide 314 and cp314: `cibuildwheel --platform pyodide` "
    "(build identifier cp314-pyodide_wasm32) or `pyodide build` with a Pyodide 314 "
    "cross-build environment, so the wheel is tagged " + NEEDED_TAG
)
FIX_NATIVE = (
    "build a Pyodide wheel with `cibuildwheel --platform pyodide` or `pyodide build` "
    "and pass that .whl"
)
FIX_PURE = "build it as a universal pure-Python wheel (py3-none-any)"
SKIPPED_WHY = "tagged {tags}: {reason}"

MSG_EMPTY_SPEC = (
    "{option} was given an empty value.\n"
    "  Fix: pass a .whl file, a directory of wheels or a glob such as dist/*.whl"
)
MSG_NOT_FOUND = (
    "{option} {spec}: no such file or directory: {path}\n"
    "  Relative paths are resolved against {base}.\n"
    "  Fix: build the wheel first, or pass an existing .whl file, a directory of wheels "
    "or a glob such as dist/*.whl"
)
MSG_GLOB_EMPTY = (
    "{option} {spec}: the pattern {pattern} matched no file.\n"
    "  Relative patterns are resolved against {base}.\n"
    "  Fix: build the wheels first (`cibuildwheel --platform pyodide` or `pyodide build` "
    "write them to dist/), or correct the pattern"
)
MSG_DIR_EMPTY = (
    "{option} {spec}: the directory {path} contains no .whl file.\n"
    "  Fix: build the wheels into it first, or pass the directory that holds them"
)
MSG_NOT_A_WHEEL = (
    "{option} {spec}: {path} is not a wheel (its name does not end in .whl).\n"
    "  Fix: pass a built wheel file, e.g. dist/<name>-<version>-{needed_tag}.whl"
)
MSG_NOTHING_USABLE = (
    "{option} {spec} matched no wheel Pyodide 314 can install:\n"
    "{rejected}\n"
    "  Pyodide 314 needs {needed}.\n"
    "  Fix: " + FIX_NATIVE
)
NOT_A_WHEEL_WHY = "not a .whl file"
MSG_ORIGIN = "  Given as: {option} {spec}"

MSG_BAD_FILENAME = (
    "Wheel {wheel} has an invalid wheel file name ({detail}).\n"
    "  Fix: keep the name the build backend wrote, "
    "{{name}}-{{version}}-{{python tag}}-{{abi tag}}-{{platform tag}}.whl; do not rename wheels"
)
MSG_BAD_ZIP = (
    "Wheel {wheel} is not a readable zip archive ({detail}): it is truncated, damaged "
    "or not a wheel.\n"
    "  Fix: rebuild or re-download it"
)
MSG_DIST_INFO_COUNT = (
    "Wheel {wheel} must contain exactly one top-level .dist-info directory, found {found}.\n"
    "  Fix: rebuild it with a standard build backend; do not re-zip wheels by hand"
)
MSG_DIST_INFO_NAME = (
    "Wheel {wheel} has the metadata directory {dist_info}, which does not belong to "
    "the project {name} named in its file name.\n"
    "  Fix: rebuild it; do not rename wheel files"
)
MSG_MISSING_MEMBER = (
    "Wheel {wheel} has no {member}; every wheel needs it.\n"
    "  Fix: rebuild it with a standard build backend (setuptools, hatchling, "
    "scikit-build-core, meson-python, maturin)"
)
MSG_WHEEL_VERSION = (
    "Wheel {wheel} declares Wheel-Version {version}; installers only read wheel format 1.x.\n"
    "  Fix: rebuild it with a build backend that writes Wheel-Version 1.0"
)
MSG_BAD_METADATA = "Wheel {wheel}: its METADATA {detail}.\n  Fix: rebuild it"
MSG_METADATA_MISMATCH = (
    "Wheel {wheel}: its METADATA says {field} {in_metadata!r}, its file name says "
    "{in_filename!r}.\n"
    "  Fix: rebuild it; do not rename wheel files"
)
MSG_REQUIRES_PYTHON = (
    "Wheel {wheel} requires Python {specifier}; Pyodide 314 runs CPython "
    + PYODIDE_PYTHON
    + ".\n  Fix: widen Requires-Python (requires-python in pyproject.toml) and rebuild"
)
MSG_RECORD_PROBLEMS = (
    "Wheel {wheel}: its contents do not match {record}:\n"
    "{problems}\n"
    "  The wheel was changed after it was built, or is damaged.\n"
    "  Fix: rebuild it; do not edit or re-zip wheels by hand"
)
RECORD_HASH_MISMATCH = "hash or size differs"
RECORD_NO_HASH = "listed without a hash"
RECORD_BAD_HASH = "hash not sha256 or stronger"
RECORD_MISSING = "listed but not in the archive"
RECORD_UNLISTED = "in the archive but not listed"
MSG_HOST_BINARY = (
    "Wheel {wheel} is tagged {tags} but {member} is a {kind} binary (it starts with "
    "{magic!r}): it was compiled for the build machine, not for Emscripten "
    "(WebAssembly modules start with b'\\x00asm').\n"
    "  Fix: cross-compile with `cibuildwheel --platform pyodide` or `pyodide build`, "
    "which use the Emscripten toolchain"
)
MSG_SO_SUFFIX = (
    "Wheel {wheel} contains {member}, an extension module with the suffix {suffix}; "
    "Pyodide 314 only imports modules ending in "
    + ", ".join(PYODIDE_EXTENSION_SUFFIXES)
    + ".\n  Fix: build it for Pyodide with `cibuildwheel --platform pyodide` or "
    "`pyodide build`"
)
MSG_BAD_EXTRA_NAME = (
    "{where}: {extra!r} is not a valid extra name.\n"
    "  Fix: write extras as in pip, e.g. dist/pkg.whl[test] or dist/*.whl[test,docs]"
)
MSG_UNKNOWN_EXTRA = (
    "Wheel {wheel} does not declare the extra {extra!r}{where}; it declares: {declared}.\n"
    "  Fix: use one of the declared extras, or add it under "
    "[project.optional-dependencies] and rebuild"
)
MSG_UNKNOWN_EXTRA_GLOB = (
    "No wheel matched by {option} {spec} declares the extra {extra!r}; "
    "they declare: {declared}.\n"
    "  Fix: use one of the declared extras, or add it under "
    "[project.optional-dependencies] and rebuild"
)
MSG_DUPLICATE = (
    "Two wheels of the project {name} were given: {first} and {second}.\n"
    "  Pyodide installs one version of a project.\n"
    "  Fix: pass only one of them (delete the stale wheel or narrow the glob)"
)

_LIST_LIMIT = 5

_PYODIDE_PLATFORM = re.compile(r"(?:pyemscripten|pyodide)_(?P<year>\d+)_(?P<patch>\d+)_wasm32")
_EMSCRIPTEN_PLATFORM = re.compile(r"emscripten_(?P<version>\d+_\d+_\d+)_wasm32")
_PYTHON_TAG = re.compile(r"(?P<impl>cp|py)(?P<major>\d)(?P<minor>\d*)")
_EXTRAS_SUFFIX = re.compile(r"(?P<path>.+?)\[(?P<extras>[^\[\]]*)\]")
_EXTRA_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_GLOB_MAGIC = re.compile(r"[*?\[]")
# An interpreter-specific extension suffix: .cpython-314-x86_64-linux-gnu.so, .pypy310-....so
_ABI_SO_SUFFIX = re.compile(r"\.(?:cpython|pypy|graalpy)[^./]*\.so$")
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
_HOST_MAGIC = (
    (b"\x7fELF", "Linux ELF"),
    (b"\xcf\xfa\xed\xfe", "macOS Mach-O"),
    (b"\xce\xfa\xed\xfe", "macOS Mach-O"),
    (b"\xca\xfe\xba\xbe", "macOS universal Mach-O"),
    (b"MZ", "Windows PE"),
)
_WEAK_HASHES = frozenset({"md5", "sha1", "sha224"})
_RECORD_UNHASHED = ("RECORD", "RECORD.jws", "RECORD.p7s")


@dataclass(frozen=True)
class WheelInfo:
    """What the rest of the harness needs to know about one checked wheel."""

    path: Path
    name: str
    version: str
    tags: frozenset[str]
    extras: tuple[str, ...]
    requires_dist: tuple[str, ...]
    top_level: tuple[str, ...]
    sha256: str
    is_pure: bool


@dataclass(frozen=True)
class WheelIntake:
    """The usable wheels, and the other-platform builds a glob or directory also matched."""

    wheels: tuple[WheelInfo, ...]
    skipped: tuple[tuple[Path, str], ...]


def check_wheel(path: Path, extras: tuple[str, ...] = ()) -> WheelInfo:
    """Check one wheel file for Pyodide 314 and describe it; raise WheelError if unusable."""
    path = _absolute(path)
    if not path.is_file():
        raise WheelError(MSG_NOT_FOUND.format(option=OPTION, spec=path, path=path, base=Path.cwd()))
    name, version, tags = _parse_filename(path)
    refusal = _refusal(tags)
    if refusal is not None:
        raise WheelError(refusal.message(path))
    info, declared = _inspect(path, name, version, tags)
    wanted = _parse_extras(extras, where=str(path))
    _require_declared(info, declared, wanted, where="")
    return replace(info, extras=wanted)


def collect_wheels(specs: Sequence[str], base: Path) -> WheelIntake:
    """Resolve ``--pyodide-wheel`` values (files, directories, globs, ``[extras]``).

    Named files must be usable. Globs and directories may also match wheels for other
    platforms, as a cibuildwheel ``dist/`` does; those are skipped and reported, but each
    glob or directory must yield at least one usable wheel.
    """
    base = _absolute(base)
    expanded = [_expand(spec, base) for spec in specs]
    candidates: dict[Path, _Candidate] = {}
    for spec in expanded:
        for path in spec.wheels:
            candidate = candidates.setdefault(path, _Candidate(path))
            candidate.specs.append(spec)
            candidate.explicit = candidate.explicit or spec.kind == "file"

    accepted: dict[Path, tuple[WheelInfo, tuple[str, ...]]] = {}
    refused: dict[Path, tuple[str, _Refusal]] = {}
    for candidate in candidates.values():
        origin = candidate.specs[0].text
        try:
            name, version, tags = _parse_filename(candidate.path)
            refusal = _refusal(tags)
            if refusal is None:
                accepted[candidate.path] = _inspect(candidate.path, name, version, tags)
            elif candidate.explicit:
                raise WheelError(refusal.message(candidate.path))
            else:
                refused[candidate.path] = (name, refusal)
        except WheelError as exc:
            raise WheelError(_with_origin(str(exc), origin)) from None

    for spec in expanded:
        if spec.kind != "file" and not any(path in accepted for path in spec.wheels):
            raise WheelError(_nothing_usable(spec, refused, base))

    accepted_names = {info.name for info, _ in accepted.values()}
    skipped: list[tuple[Path, str]] = []
    for path, (name, refusal) in refused.items():
        # Other platforms are expected in a dist/; another Pyodide or Python build of a
        # project is only harmless when a usable build of that project came along.
        if not (refusal.native or name in accepted_names):
            message = refusal.message(path)
            raise WheelError(_with_origin(message, candidates[path].specs[0].text))
        skipped.append((path, refusal.why()))

    _reject_duplicates(info for info, _ in accepted.values())
    for spec in expanded:
        _require_spec_extras(spec, accepted)
    wheels = [
        replace(info, extras=_extras_for(candidates[path], info, declared))
        for path, (info, declared) in accepted.items()
    ]
    return WheelIntake(wheels=tuple(wheels), skipped=tuple(skipped))


# --- resolving the option values ------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """One ``--pyodide-wheel`` value and the files it resolved to."""

    text: str
    kind: Literal["file", "dir", "glob"]
    extras: tuple[str, ...]
    wheels: tuple[Path, ...]
    others: tuple[Path, ...] = ()


@dataclass
class _Candidate:
    """A wheel file and every spec that named or matched it (the same file may be given twice)."""

    path: Path
    explicit: bool = False
    specs: list[_Spec] = field(default_factory=list)


def _absolute(path: Path) -> Path:
    # abspath, not resolve(): a symlink's own name is the wheel file name that counts.
    return Path(os.path.abspath(path.expanduser()))


def _resolve(text: str, base: Path) -> Path:
    path = Path(text).expanduser()
    return _absolute(path if path.is_absolute() else base / path)


def _split_extras(text: str, base: Path) -> tuple[str, str | None]:
    """Split ``dist/*.whl[test]`` into pattern and extras, unless the brackets are the name."""
    match = _EXTRAS_SUFFIX.fullmatch(text)
    if match is None or _resolve(text, base).exists():
        return text, None
    path = match["path"]
    if path.lower().endswith(".whl") or _GLOB_MAGIC.search(path) or _resolve(path, base).is_dir():
        return path, match["extras"]
    return text, None


def _expand(text: str, base: Path) -> _Spec:
    spec = text.strip()
    if not spec:
        raise WheelError(MSG_EMPTY_SPEC.format(option=OPTION))
    pattern, extras_text = _split_extras(spec, base)
    extras: tuple[str, ...] = ()
    if extras_text is not None:
        extras = _parse_extras(extras_text.split(","), where=f"{OPTION} {spec}")
    literal = _resolve(pattern, base)
    if literal.is_file():
        if literal.suffix.lower() != ".whl":
            raise WheelError(
                MSG_NOT_A_WHEEL.format(
                    option=OPTION, spec=spec, path=literal, needed_tag=NEEDED_TAG
                )
            )
        return _Spec(spec, "file", extras, (literal,))
    if literal.is_dir():
        wheels = _wheels_in(literal)
        if not wheels:
            raise WheelError(MSG_DIR_EMPTY.format(option=OPTION, spec=spec, path=literal))
        return _Spec(spec, "dir", extras, wheels)
    if not _GLOB_MAGIC.search(pattern):
        raise WheelError(MSG_NOT_FOUND.format(option=OPTION, spec=spec, path=literal, base=base))
    expanded_pattern = Path(pattern).expanduser()
    absolute_pattern = (
        str(expanded_pattern)
        if expanded_pattern.is_absolute()
        else os.path.join(glob.escape(str(base)), pattern)
    )
    matches = [_absolute(Path(p)) for p in sorted(glob.glob(absolute_pattern, recursive=True))]
    if not matches:
        raise WheelError(
            MSG_GLOB_EMPTY.format(option=OPTION, spec=spec, pattern=pattern, base=base)
        )
    wheels_found: list[Path] = []
    others: list[Path] = []
    for match in matches:
        if match.is_dir():
            wheels_found.extend(_wheels_in(match))
        elif match.suffix.lower() == ".whl":
            wheels_found.append(match)
        else:
            others.append(match)
    return _Spec(spec, "glob", extras, tuple(dict.fromkeys(wheels_found)), tuple(others))


def _wheels_in(directory: Path) -> tuple[Path, ...]:
    return tuple(
        sorted(p for p in directory.iterdir() if p.suffix.lower() == ".whl" and p.is_file())
    )


def _with_origin(message: str, spec: str) -> str:
    """Say which option value brought the wheel in, just above the message's fix."""
    origin = MSG_ORIGIN.format(option=OPTION, spec=spec)
    head, fix_marker, fix = message.partition("\n  Fix:")
    return f"{head}\n{origin}{fix_marker}{fix}"


def _display(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _nothing_usable(spec: _Spec, refused: dict[Path, tuple[str, _Refusal]], base: Path) -> str:
    lines = []
    for path in spec.wheels:
        entry = refused.get(path)
        why = entry[1].why() if entry else "refused"
        lines.append(f"    {_display(path, base)}: {why}")
    lines += [f"    {_display(path, base)}: {NOT_A_WHEEL_WHY}" for path in spec.others]
    return MSG_NOTHING_USABLE.format(
        option=OPTION, spec=spec.text, rejected="\n".join(lines), needed=NEEDED
    )


# --- tags -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Refusal:
    """Why a wheel's tags do not fit Pyodide 314, and what to do about it."""

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


def _tag_list(tags: Iterable[Tag | str]) -> str:
    return ", ".join(sorted(str(tag) for tag in tags))


def _refusal(tags: frozenset[Tag]) -> _Refusal | None:
    """None if any tag is one Pyodide 314 installs, else the explanation of all tags."""
    if tags & SUPPORTED_TAGS:
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
    return _Refusal(
        tags=_tag_list(tags),
        native=not fixes,
        reason="; ".join(reasons),
        fix=fixes[0] if fixes else FIX_NATIVE,
    )


def _explain(tag: Tag) -> tuple[str, str] | None:
    """What a Pyodide or pure tag was built for and how to rebuild; None for native tags."""
    platform = tag.platform
    if platform in PYODIDE_314_PLATFORMS:
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
    match = _PYODIDE_PLATFORM.fullmatch(platform)
    if match is not None:
        abi = (int(match["year"]), int(match["patch"]))
        relation = "an older ABI than" if abi < (2026, 0) else "a newer ABI than"
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
    newer = major == "3" and minor != "" and int(minor) > 14
    if match["impl"] == "py":
        if major != "3":
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


# --- looking inside ---------------------------------------------------------------------


def _parse_filename(path: Path) -> tuple[str, Version, frozenset[Tag]]:
    try:
        name, version, _build, tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise WheelError(MSG_BAD_FILENAME.format(wheel=path, detail=exc)) from None
    return str(name), version, tags


def _inspect(
    path: Path, name: str, version: Version, tags: frozenset[Tag]
) -> tuple[WheelInfo, tuple[str, ...]]:
    """Open the archive and check it; return its description and its declared extras."""
    is_pure = all(tag.platform == "any" for tag in tags)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            names = [info.filename for info in members]
            dist_info = _dist_info_dir(path, names, name)
            _check_wheel_file(path, archive, dist_info)
            requires_dist, declared = _check_metadata(path, archive, dist_info, name, version)
            heads = _check_record(path, archive, members, dist_info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise WheelError(MSG_BAD_ZIP.format(wheel=path, detail=exc)) from None
    _check_extension_modules(path, tags, heads, check_binaries=not is_pure)
    info = WheelInfo(
        path=path,
        name=name,
        version=str(version),
        tags=frozenset(str(tag) for tag in tags),
        extras=(),
        requires_dist=requires_dist,
        top_level=_top_level(names),
        sha256=file_sha256(path),
        is_pure=is_pure,
    )
    return info, declared


def _dist_info_dir(path: Path, names: Sequence[str], name: str) -> str:
    found = sorted({n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")})
    if len(found) != 1:
        listed = ", ".join(found) if found else "none"
        raise WheelError(MSG_DIST_INFO_COUNT.format(wheel=path, found=listed))
    dist_info = found[0]
    stem = dist_info[: -len(".dist-info")]
    if canonicalize_name(stem.rpartition("-")[0] or stem) != name:
        raise WheelError(MSG_DIST_INFO_NAME.format(wheel=path, dist_info=dist_info, name=name))
    return dist_info


def _read_member(path: Path, archive: zipfile.ZipFile, member: str) -> bytes:
    try:
        return archive.read(member)
    except KeyError:
        raise WheelError(MSG_MISSING_MEMBER.format(wheel=path, member=member)) from None


def _check_wheel_file(path: Path, archive: zipfile.ZipFile, dist_info: str) -> None:
    text = _read_member(path, archive, f"{dist_info}/WHEEL").decode("utf-8", "replace")
    wheel_version = HeaderParser().parsestr(text).get("Wheel-Version")
    if wheel_version is not None and wheel_version.strip().split(".")[0] != "1":
        raise WheelError(MSG_WHEEL_VERSION.format(wheel=path, version=wheel_version.strip()))


def _check_metadata(
    path: Path, archive: zipfile.ZipFile, dist_info: str, name: str, version: Version
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Check METADATA against the file name; return Requires-Dist and declared extras."""
    raw, _unparsed = parse_email(_read_member(path, archive, f"{dist_info}/METADATA"))
    meta_name = raw.get("name")
    meta_version = raw.get("version")
    if not meta_name:
        raise WheelError(MSG_BAD_METADATA.format(wheel=path, detail="has no Name field"))
    if not meta_version:
        raise WheelError(MSG_BAD_METADATA.format(wheel=path, detail="has no Version field"))
    if canonicalize_name(meta_name) != name:
        raise WheelError(
            MSG_METADATA_MISMATCH.format(
                wheel=path, field="Name", in_metadata=meta_name, in_filename=name
            )
        )
    try:
        same_version = Version(meta_version) == version
    except InvalidVersion:
        detail = f"has an invalid Version {meta_version!r}"
        raise WheelError(MSG_BAD_METADATA.format(wheel=path, detail=detail)) from None
    if not same_version:
        raise WheelError(
            MSG_METADATA_MISMATCH.format(
                wheel=path, field="Version", in_metadata=meta_version, in_filename=str(version)
            )
        )
    requires_python = raw.get("requires_python")
    if requires_python:
        try:
            allowed = SpecifierSet(requires_python).contains(PYODIDE_PYTHON, prereleases=True)
        except InvalidSpecifier:
            detail = f"has an invalid Requires-Python {requires_python!r}"
            raise WheelError(MSG_BAD_METADATA.format(wheel=path, detail=detail)) from None
        if not allowed:
            raise WheelError(MSG_REQUIRES_PYTHON.format(wheel=path, specifier=requires_python))
    requires_dist = tuple(raw.get("requires_dist", []))
    for requirement in requires_dist:
        try:
            Requirement(requirement)
        except InvalidRequirement as exc:
            detail = f"has an invalid Requires-Dist {requirement!r} ({exc})"
            raise WheelError(MSG_BAD_METADATA.format(wheel=path, detail=detail)) from None
    declared = tuple(
        dict.fromkeys(canonicalize_name(extra) for extra in raw.get("provides_extra", []))
    )
    return requires_dist, declared


def _check_record(
    path: Path, archive: zipfile.ZipFile, members: Sequence[zipfile.ZipInfo], dist_info: str
) -> dict[str, bytes]:
    """Verify every file against RECORD; return the first bytes of each ``.so`` on the way."""
    record_name = f"{dist_info}/RECORD"
    record_text = _read_member(path, archive, record_name).decode("utf-8", "replace")
    listed: dict[str, tuple[str, str]] = {}
    for row in csv.reader(io.StringIO(record_text)):
        if row and row[0]:
            row += [""] * (3 - len(row))
            listed[row[0]] = (row[1], row[2])
    unhashed = {f"{dist_info}/{name}" for name in _RECORD_UNHASHED}

    problems: dict[str, list[str]] = {}
    heads: dict[str, bytes] = {}
    seen: set[str] = set()
    for member in members:
        name = member.filename
        if name in seen:
            continue
        seen.add(name)
        entry = listed.get(name)
        if entry is None:
            if name not in unhashed:
                problems.setdefault(RECORD_UNLISTED, []).append(name)
            continue
        hash_field, size_field = entry
        if not hash_field:
            if name not in unhashed:
                problems.setdefault(RECORD_NO_HASH, []).append(name)
            continue
        algorithm, _, expected = hash_field.partition("=")
        if algorithm in _WEAK_HASHES or algorithm not in hashlib.algorithms_guaranteed:
            problems.setdefault(RECORD_BAD_HASH, []).append(f"{name} ({algorithm})")
            continue
        digest, size, head = _hash_member(archive, member, algorithm)
        if name.endswith(".so"):
            heads[name] = head
        size_ok = not size_field or size_field.strip() == str(size)
        if digest != expected.rstrip("=") or not size_ok:
            problems.setdefault(RECORD_HASH_MISMATCH, []).append(name)
    missing = [name for name in listed if name not in seen and not name.endswith("/")]
    if missing:
        problems[RECORD_MISSING] = missing
    if problems:
        lines = [f"    {kind}: {_first(names)}" for kind, names in problems.items()]
        raise WheelError(
            MSG_RECORD_PROBLEMS.format(wheel=path, record=record_name, problems="\n".join(lines))
        )
    return heads


def _hash_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, algorithm: str
) -> tuple[str, int, bytes]:
    """RECORD-style digest, size and first four bytes, streamed so big wheels stay cheap."""
    hasher = hashlib.new(algorithm)
    size = 0
    head = b""
    with archive.open(member) as stream:
        while chunk := stream.read(1 << 20):
            if len(head) < 4:
                head = (head + chunk)[:4]
            hasher.update(chunk)
            size += len(chunk)
    digest = base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()
    return digest, size, head


def _check_extension_modules(
    path: Path, tags: frozenset[Tag], heads: dict[str, bytes], *, check_binaries: bool
) -> None:
    for member, head in heads.items():
        suffix = _ABI_SO_SUFFIX.search(member)
        if suffix is not None and not member.endswith(PYODIDE_EXTENSION_SUFFIXES[0]):
            raise WheelError(MSG_SO_SUFFIX.format(wheel=path, member=member, suffix=suffix.group()))
        if not check_binaries:
            continue
        for magic, kind in _HOST_MAGIC:
            if head.startswith(magic):
                raise WheelError(
                    MSG_HOST_BINARY.format(
                        wheel=path, tags=_tag_list(tags), member=member, kind=kind, magic=head
                    )
                )


def _top_level(names: Iterable[str]) -> tuple[str, ...]:
    """Importable names the wheel puts on sys.path (purelib/platlib in .data count too)."""
    found: set[str] = set()
    for name in names:
        parts = name.split("/")
        if parts[0].endswith(".data"):
            if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                continue
            parts = parts[2:]
        elif parts[0].endswith(".dist-info"):
            continue
        if len(parts) > 1:
            candidate = parts[0]
        elif parts[0].endswith((".py", ".pyc", ".so")):
            candidate = parts[0].split(".", 1)[0]
        else:
            continue
        if candidate.isidentifier() and candidate != "__pycache__":
            found.add(candidate)
    return tuple(sorted(found))


def file_sha256(path: Path) -> str:
    """The file's sha256. Within one process it is read once per inode, size and mtime:
    the intake and the dependency resolution (which keys its cache by it) both ask
    for each wheel under test."""
    st = path.stat()
    return _sha256_of(str(path), st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256_of(path: str, inode: int, size: int, mtime_ns: int) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def _first(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_LIST_LIMIT])
    more = len(items) - _LIST_LIMIT
    return f"{shown} and {more} more" if more > 0 else shown


# --- extras and duplicates -------------------------------------------------------------


def _parse_extras(extras: Iterable[str], where: str) -> tuple[str, ...]:
    """Validate extra names and normalise them (PEP 685), dropping blanks and repeats."""
    parsed: list[str] = []
    for extra in extras:
        extra = extra.strip()
        if not extra:
            continue
        if not _EXTRA_NAME.fullmatch(extra):
            raise WheelError(MSG_BAD_EXTRA_NAME.format(where=where, extra=extra))
        parsed.append(canonicalize_name(extra))
    return tuple(dict.fromkeys(parsed))


def _require_declared(
    info: WheelInfo, declared: tuple[str, ...], wanted: Iterable[str], where: str
) -> None:
    for extra in wanted:
        if extra not in declared:
            raise WheelError(
                MSG_UNKNOWN_EXTRA.format(
                    wheel=info.path,
                    extra=extra,
                    where=where,
                    declared=", ".join(declared) or "none",
                )
            )


def _extras_for(
    candidate: _Candidate, info: WheelInfo, declared: tuple[str, ...]
) -> tuple[str, ...]:
    """A named file must declare its extras; a glob's apply to the wheels that declare them."""
    for spec in candidate.specs:
        if spec.kind == "file":
            where = f" (asked for by {OPTION} {spec.text})"
            _require_declared(info, declared, spec.extras, where)
    extras = [
        extra
        for spec in candidate.specs
        for extra in spec.extras
        if spec.kind == "file" or extra in declared
    ]
    return tuple(dict.fromkeys(extras))


def _require_spec_extras(
    spec: _Spec, accepted: dict[Path, tuple[WheelInfo, tuple[str, ...]]]
) -> None:
    """A glob's extra must be declared by at least one wheel it matched, to catch typos."""
    if spec.kind == "file":
        return
    matched = [accepted[path] for path in spec.wheels if path in accepted]
    for extra in spec.extras:
        if any(extra in declared for _, declared in matched):
            continue
        where = f" (asked for by {OPTION} {spec.text})"
        if len(matched) == 1:
            _require_declared(*matched[0], [extra], where)
        declared_by = "; ".join(
            f"{info.path.name}: {', '.join(declared) or 'none'}" for info, declared in matched
        )
        raise WheelError(
            MSG_UNKNOWN_EXTRA_GLOB.format(
                option=OPTION, spec=spec.text, extra=extra, declared=declared_by
            )
        )


def _reject_duplicates(infos: Iterable[WheelInfo]) -> None:
    seen: dict[str, WheelInfo] = {}
    for info in infos:
        first = seen.setdefault(info.name, info)
        if first is not info:
            raise WheelError(
                MSG_DUPLICATE.format(name=info.name, first=first.path, second=info.path)
            )
