"""Open one wheel file and check that its contents are what its name and metadata claim.

Entries that would land outside the install directory, WHEEL tags or METADATA that
disagree with the file name, files changed after the build (RECORD), host-built
extension modules and compiled libraries in a wheel tagged pure are cheap to see in
the archive on the host, while Pyodide's installer would fail late and tersely, or
not at all (it installs what pip would refuse). Whether the tags themselves suit the
target is ``tags``'s job.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, parse_tag
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from . import target
from .errors import WheelError
from .tags import is_pure, tag_list

_PYODIDE = f"Pyodide {target.SERIES}"
_CP = "cp{}{}".format(*target.PYTHON_MAJOR_MINOR)

# --- user-facing messages (tests import these) -------------------------------------

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
    "Wheel {wheel} requires Python {specifier}; " + _PYODIDE + " runs CPython "
    + target.PYTHON_VERSION
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
    + _PYODIDE + " only imports modules ending in "
    + ", ".join(target.EXTENSION_SUFFIXES)
    + ".\n  Fix: build it for Pyodide with `cibuildwheel --platform pyodide` or "
    "`pyodide build`"
)

MSG_UNSAFE_PATHS = (
    "Wheel {wheel} has entries that are not plain relative paths inside the install "
    "directory:\n"
    "{problems}\n"
    "  pip refuses entries with '..' or an absolute path. A drive letter or a backslash is a "
    "drive and a separator on Windows but part of an odd file name elsewhere (the zip format "
    "allows only relative paths with forward slashes), so the wheel installs differently per "
    "system and a run with it does not test what users get.\n"
    "  Fix: rebuild it with a standard build backend; do not build or edit wheels by hand"
)
UNSAFE_PARENT = "goes up with '..'"
UNSAFE_ABSOLUTE = "absolute path"
UNSAFE_DRIVE = "Windows drive letter"
UNSAFE_BACKSLASH = "backslash"
MSG_BAD_WHEEL_FILE = "Wheel {wheel}: its {member} {detail}.\n  Fix: rebuild it"
MSG_TAG_MISMATCH = (
    "Wheel {wheel} is named for the tags {in_name}, but its {member} declares {in_wheel}: "
    "it was renamed or retagged after the build, so what it was built for is unknown.\n"
    "  Fix: rebuild it; to change a wheel's tags use `wheel tags`, which rewrites the "
    "file name and WHEEL together"
)
MSG_PURE_NATIVE = (
    "Wheel {wheel} is tagged {tags}, pure Python for every platform, but {member} is a "
    "{kind} binary (it starts with {magic!r}) that loads on {system} only: pip would install "
    "the wheel everywhere, and Pyodide loads every .so of a wheel as it installs it and "
    "fails on this one with a generic error.\n"
    "  Fix: compiled code needs platform wheels; build the Pyodide one with "
    "`cibuildwheel --platform pyodide` or `pyodide build`. If the file is left over from "
    "an in-place build, delete it and rebuild the wheel"
)
MSG_PURE_WASM = (
    "Wheel {wheel} is tagged {tags}, pure Python for every platform, but {member} is a "
    "WebAssembly module (an Emscripten side module). A pure tag hides which Pyodide ABI it "
    "was built for, so no installer can check it: Pyodide loads it whatever it was built for, "
    "a module from another Pyodide fails only at import, and pip would install the wheel on "
    "platforms that cannot load it at all.\n"
    "  Fix: let `pyodide build` or `cibuildwheel --platform pyodide` tag the wheel "
    f"{target.NEEDED_TAG}, or retag this one with `wheel tags --python-tag {_CP} "
    f"--abi-tag {_CP} --platform-tag {target.PLATFORM}`"
)

_LIST_LIMIT = 5
# An interpreter-specific extension suffix: .cpython-314-x86_64-linux-gnu.so, .pypy310-....so
_ABI_SO_SUFFIX = re.compile(r"\.(?:cpython|pypy|graalpy)[^./]*\.so$")
# Where Pyodide's installer loads a file as a shared library: a name ending in .so or
# .so.N (shouldLoadDynlib in Pyodide's package loader).
_SHARED_LIBRARY = re.compile(r"\.so(?:\.\d+)*$")
# First bytes of native binaries: (magic, kind, the system that loads it). Mach-O comes
# in both byte orders, 32 and 64 bit, and as universal ("fat") files.
_NATIVE_MAGIC = (
    (b"\x7fELF", "Linux ELF", "Linux"),
    (b"\xcf\xfa\xed\xfe", "macOS Mach-O", "macOS"),
    (b"\xce\xfa\xed\xfe", "macOS Mach-O", "macOS"),
    (b"\xfe\xed\xfa\xcf", "macOS Mach-O", "macOS"),
    (b"\xfe\xed\xfa\xce", "macOS Mach-O", "macOS"),
    (b"\xca\xfe\xba\xbe", "macOS universal Mach-O", "macOS"),
    (b"\xca\xfe\xba\xbf", "macOS universal Mach-O", "macOS"),
    (b"\xbe\xba\xfe\xca", "macOS universal Mach-O", "macOS"),
    (b"\xbf\xba\xfe\xca", "macOS universal Mach-O", "macOS"),
    (b"MZ", "Windows PE", "Windows"),
)
_WASM_MAGIC = b"\x00asm"
_DRIVE = re.compile(r"[A-Za-z]:")
_WEAK_HASHES = frozenset({"md5", "sha1", "sha224"})
_RECORD_UNHASHED = ("RECORD", "RECORD.jws", "RECORD.p7s")


@dataclass(frozen=True)
class WheelName:
    """What a wheel's file name says: project, version and tags."""

    name: NormalizedName
    version: Version
    tags: frozenset[Tag]


@dataclass(frozen=True)
class ArchiveFacts:
    """What the archive says beyond its name, once it passed every check."""

    requires_dist: tuple[str, ...]
    declared_extras: tuple[str, ...]
    top_level: tuple[str, ...]


def parse_filename(path: Path) -> WheelName:
    """The wheel's name, version and tags, by packaging's parser; WheelError if invalid."""
    try:
        name, version, _build, tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise WheelError(MSG_BAD_FILENAME.format(wheel=path, detail=exc)) from None
    return WheelName(name, version, tags)


def check_archive(path: Path, wheel: WheelName) -> ArchiveFacts:
    """Open the archive and check it against its name; WheelError naming the fix if not."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_paths(path, archive.namelist())
            members = [info for info in archive.infolist() if not info.is_dir()]
            names = [info.filename for info in members]
            dist_info = _dist_info_dir(path, names, wheel.name)
            _check_wheel_file(path, archive, dist_info, wheel.tags)
            requires_dist, declared = _check_metadata(path, archive, dist_info, wheel)
            heads = _check_record(path, archive, members, dist_info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise WheelError(MSG_BAD_ZIP.format(wheel=path, detail=exc)) from None
    _check_extension_modules(path, wheel.tags, heads)
    return ArchiveFacts(requires_dist, declared, _top_level(names))


def _check_paths(path: Path, names: Iterable[str]) -> None:
    """Every entry must be a plain relative path, so it lands inside the install directory."""
    problems: dict[str, list[str]] = {}
    for name in names:
        kind = _unsafe(name)
        if kind is not None:
            problems.setdefault(kind, []).append(name)
    if problems:
        lines = [f"    {kind}: {_first(found)}" for kind, found in problems.items()]
        raise WheelError(MSG_UNSAFE_PATHS.format(wheel=path, problems="\n".join(lines)))


def _unsafe(name: str) -> str | None:
    """Why an archive entry may land outside the install directory, or None.

    pip (23.2, Linux) refuses ``..`` and absolute entries and installs ``C:/x.py`` and
    ``..\\x.py`` as odd file names; on Windows, where zipfile reads backslashes as
    separators and a drive letter makes a path absolute, both climb out.
    """
    if "\\" in name:
        return UNSAFE_BACKSLASH
    if name.startswith("/"):
        return UNSAFE_ABSOLUTE
    if _DRIVE.match(name):
        return UNSAFE_DRIVE
    if ".." in name.split("/"):
        return UNSAFE_PARENT
    return None


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


def _check_wheel_file(
    path: Path, archive: zipfile.ZipFile, dist_info: str, tags: frozenset[Tag]
) -> None:
    """Wheel-Version must be 1.x, and the ``Tag:`` lines, if any, must be the name's tags."""
    member = f"{dist_info}/WHEEL"
    headers = HeaderParser().parsestr(_read_member(path, archive, member).decode("utf-8", "replace"))
    wheel_version = headers.get("Wheel-Version")
    if wheel_version is not None and wheel_version.strip().split(".")[0] != "1":
        raise WheelError(MSG_WHEEL_VERSION.format(wheel=path, version=wheel_version.strip()))
    declared: set[Tag] = set()
    for line in headers.get_all("Tag", []):
        try:
            declared |= parse_tag(line.strip())
        except ValueError:
            detail = f"has an invalid Tag {line.strip()!r}"
            raise WheelError(
                MSG_BAD_WHEEL_FILE.format(wheel=path, member=member, detail=detail)
            ) from None
    if declared and declared != tags:
        raise WheelError(
            MSG_TAG_MISMATCH.format(
                wheel=path, in_name=tag_list(tags), member=member, in_wheel=tag_list(declared)
            )
        )


def _check_metadata(
    path: Path, archive: zipfile.ZipFile, dist_info: str, wheel: WheelName
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Check METADATA against the file name; return Requires-Dist and declared extras."""
    raw, _unparsed = parse_email(_read_member(path, archive, f"{dist_info}/METADATA"))
    meta_name = raw.get("name")
    meta_version = raw.get("version")
    if not meta_name:
        raise WheelError(MSG_BAD_METADATA.format(wheel=path, detail="has no Name field"))
    if not meta_version:
        raise WheelError(MSG_BAD_METADATA.format(wheel=path, detail="has no Version field"))
    if canonicalize_name(meta_name) != wheel.name:
        raise WheelError(
            MSG_METADATA_MISMATCH.format(
                wheel=path, field="Name", in_metadata=meta_name, in_filename=wheel.name
            )
        )
    try:
        same_version = Version(meta_version) == wheel.version
    except InvalidVersion:
        detail = f"has an invalid Version {meta_version!r}"
        raise WheelError(MSG_BAD_METADATA.format(wheel=path, detail=detail)) from None
    if not same_version:
        raise WheelError(
            MSG_METADATA_MISMATCH.format(
                wheel=path, field="Version", in_metadata=meta_version,
                in_filename=str(wheel.version),
            )
        )
    requires_python = raw.get("requires_python")
    if requires_python:
        try:
            allowed = SpecifierSet(requires_python).contains(
                target.PYTHON_VERSION, prereleases=True
            )
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
    """Verify every file against RECORD; return the first bytes of each shared library."""
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
        if _SHARED_LIBRARY.search(name):
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


def _check_extension_modules(path: Path, tags: frozenset[Tag], heads: dict[str, bytes]) -> None:
    """Each shared library must be one Pyodide loads: an Emscripten module with a suffix
    Pyodide imports, and none at all in a pure wheel.

    Only ``.so`` files are looked at: Pyodide's installer loads every one of them, while
    other files are data. Pure wheels ship other systems' binaries as data on purpose
    (pip's and setuptools' Windows launchers, selenium-manager, PyOpenGL's DLLs).
    """
    pure = is_pure(tags)
    for member, head in heads.items():
        suffix = _ABI_SO_SUFFIX.search(member)
        if suffix is not None and not member.endswith(target.EXTENSION_SUFFIXES[0]):
            raise WheelError(MSG_SO_SUFFIX.format(wheel=path, member=member, suffix=suffix.group()))
        native = next((entry for entry in _NATIVE_MAGIC if head.startswith(entry[0])), None)
        described = {"wheel": path, "tags": tag_list(tags), "member": member, "magic": head}
        if native is not None:
            _magic, kind, system = native
            template = MSG_PURE_NATIVE if pure else MSG_HOST_BINARY
            raise WheelError(template.format(**described, kind=kind, system=system))
        if pure and head.startswith(_WASM_MAGIC):
            raise WheelError(MSG_PURE_WASM.format(**described))


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


def _first(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_LIST_LIMIT])
    more = len(items) - _LIST_LIMIT
    return f"{shown} and {more} more" if more > 0 else shown
