"""Resolve the wheels Pyodide 314 needs besides the wheels under test.

pip does the resolving: it is a real resolver, and the user's pip configuration
(indexes, mirrors, credentials, certificates) applies unchanged. Plain
``pip download --platform ...`` picks wheels by the target's tags but still
evaluates environment markers (``sys_platform``, ``platform_machine``, ...) of
transitive requirements against the host, so a Linux host would pull
``x86_64``-only dependencies and skip ``emscripten``-only ones. pip therefore
runs in a subprocess through a small launcher that swaps
``pip._vendor.packaging.markers.default_environment`` (which ``Marker.evaluate``
looks up as a module global) for one describing Pyodide, and checks that the
swap took effect before resolving.

Downloaded wheels stay in ``<cache>/wheels``; each resolution first tries that
directory alone (``--isolated --no-index``), so a repeated run needs no network.
The price: an unpinned requirement stays at the version first downloaded until
the requirements change so that the cache no longer satisfies them, or the
directory is deleted.

A successful resolution is remembered in ``<cache>/resolutions``, keyed by the
wheels' contents, extras and the requirements: the same inputs again start no
pip at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from . import paths
from .errors import DependencyError
from .wheels import file_sha256

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: The marker environment of Pyodide 314.0.x (Python 3.14.2 on Emscripten 5.0.3).
PYODIDE_MARKER_ENV: dict[str, str] = {
    "python_version": "3.14",
    "python_full_version": "3.14.2",
    "implementation_name": "cpython",
    "implementation_version": "3.14.2",
    "platform_python_implementation": "CPython",
    "sys_platform": "emscripten",
    "platform_system": "Emscripten",
    "platform_machine": "wasm32",
    "os_name": "posix",
    "platform_release": "5.0.3",
    "platform_version": "",
}

#: Wheel tags Pyodide 314 installs (PEP 783 name and the older pyodide_ name).
PIP_PLATFORM_ARGS: tuple[str, ...] = (
    "--only-binary=:all:",
    "--platform", "pyemscripten_2026_0_wasm32",
    "--platform", "pyodide_2026_0_wasm32",
    "--platform", "any",
    "--python-version", "3.14",
    "--implementation", "cp",
    "--abi", "cp314",
    "--abi", "abi3",
    "--abi", "none",
)  # fmt: skip

#: Group / extra names taken as "the test requirements", in order. Not ``dev``.
TEST_GROUP_NAMES = ("test", "tests", "testing")

#: How to make a missing requirement available; ends the missing-wheel error.
MISSING_WHEEL_FIX = (
    "Fix: publish or build a wheel Pyodide 314 can install (pure Python py3-none-any, "
    "or cp314/abi3 for pyemscripten_2026_0_wasm32), then either pass it with "
    "--pyodide-wheel, or put it in a directory or index pip can see, e.g. "
    "PIP_FIND_LINKS=<dir> or PIP_EXTRA_INDEX_URL=<url>."
)
#: Exit statuses of the launcher for problems before pip runs.
LAUNCHER_NO_PIP = 97
LAUNCHER_PATCH_FAILED = 98

# Runs in ``sys.executable -c``; argv[1] is the marker environment as JSON, the rest
# are pip's arguments. It refuses to go on if the patch does not change evaluation.
_LAUNCHER = f"""\
import json, sys
try:
    from pip._vendor.packaging import markers
    from pip._internal.cli.main import main
except ImportError as exc:
    sys.stderr.write("pyodide-harness launcher: cannot import pip: %s\\n" % exc)
    sys.exit({LAUNCHER_NO_PIP})
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
class Resolution:
    """The dependency wheels to install next to the wheels under test."""

    wheels: tuple[Path, ...]
    """Dependency wheel files in the cache (not including the wheels under test)."""
    requirements: tuple[str, ...]
    """The extra requirements that were asked for (besides the wheels under test)."""


def _ignore(message: str) -> None:
    """Default ``log``: say nothing."""


def _normalize(name: str) -> str:
    """PEP 503/685/735 name normalization, used for packages, extras and groups."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --- pyproject.toml -----------------------------------------------------------------


def _load_pyproject(project_root: Path) -> dict[str, Any] | None:
    """The parsed ``pyproject.toml`` of ``project_root``, or None if there is none."""
    path = project_root / "pyproject.toml"
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DependencyError(
            f"Cannot read {path}: {exc}.\nFix the file, or name the test requirements "
            "explicitly with a requirement option."
        ) from exc


def test_requirements_from_project(project_root: Path) -> list[str]:
    """Guess the test requirements of the project in ``project_root``.

    Used when no requirement option is given. The first ``[dependency-groups]``
    group named test, tests or testing wins (include-group expanded); else the
    ``[project.optional-dependencies]`` extra of those names; else ``[]``. ``dev``
    is never taken: it usually holds linters and build tools that have no Pyodide
    wheels. References to the project itself are expanded (see
    :func:`_expand_self_references`).
    """
    data = _load_pyproject(project_root)
    if data is None:
        return []
    path = project_root / "pyproject.toml"
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        present = {_normalize(str(key)) for key in groups}
        for name in TEST_GROUP_NAMES:
            if name in present:
                return dependency_group(project_root, name)
    extras = _optional_dependencies(data, path)
    for name in TEST_GROUP_NAMES:
        if name in extras:
            return _expand_self_references(extras[name], data, path, f"extra {name!r}")
    return []


# Importing this into a test module must not make pytest collect it as a test.
test_requirements_from_project.__test__ = False  # type: ignore[attr-defined]


def _optional_dependencies(data: Mapping[str, Any], path: Path) -> dict[str, list[str]]:
    """``[project.optional-dependencies]`` keyed by normalized extra name."""
    project = data.get("project")
    table = project.get("optional-dependencies") if isinstance(project, dict) else None
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise DependencyError(f"{path}: [project.optional-dependencies] must be a table.")
    extras: dict[str, list[str]] = {}
    for key, value in table.items():
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DependencyError(f"{path}: [project.optional-dependencies] {key} must be a list of strings.")
        extras[_normalize(str(key))] = list(value)
    return extras


def dependency_group(project_root: Path, name: str) -> list[str]:
    """The requirements of PEP 735 group ``name`` with ``include-group`` expanded.

    Raises :class:`DependencyError` for an unknown group, an include cycle or a
    malformed entry, naming the group and what to change.
    """
    path = project_root / "pyproject.toml"
    data = _load_pyproject(project_root)
    if data is None:
        raise DependencyError(
            f"Dependency group {name!r} was asked for, but {path} does not exist.\n"
            "Fix: pass the project directory that holds pyproject.toml, or list the "
            "requirements explicitly."
        )
    table = data.get("dependency-groups")
    if table is None:
        table = {}
    if not isinstance(table, dict):
        raise DependencyError(f"{path}: [dependency-groups] must be a table.")
    groups: dict[str, Any] = {}
    for key, value in table.items():
        normalized = _normalize(str(key))
        if normalized in groups:
            raise DependencyError(
                f"{path}: [dependency-groups] has two groups that normalize to "
                f"{normalized!r}; PEP 735 forbids that. Fix: rename or merge them."
            )
        groups[normalized] = value
    requirements = _expand_group(groups, _normalize(name), [], path, name)
    return _expand_self_references(requirements, data, path, f"group {name!r}")


def _expand_group(
    groups: Mapping[str, Any], name: str, stack: list[str], path: Path, asked: str
) -> list[str]:
    """Flatten one group, following ``{include-group = ...}`` entries."""
    if name in stack:
        cycle = " -> ".join([*stack[stack.index(name) :], name])
        raise DependencyError(
            f"{path}: [dependency-groups] include-group cycle {cycle}.\n"
            "Fix: remove one of the include-group entries."
        )
    if name not in groups:
        known = ", ".join(sorted(groups)) or "none"
        where = f" (included from group {stack[-1]!r})" if stack else ""
        raise DependencyError(
            f"{path}: dependency group {asked if not stack else name!r}{where} does not exist; "
            f"groups defined: {known}.\nFix: add it to [dependency-groups] or pick another group."
        )
    entries = groups[name]
    if not isinstance(entries, list):
        raise DependencyError(f"{path}: dependency group {name!r} must be a list.")
    result: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            try:
                Requirement(entry)
            except InvalidRequirement as exc:
                raise DependencyError(
                    f"{path}: dependency group {name!r} entry {entry!r} is not a valid requirement: {exc}"
                ) from exc
            found = [entry]
        elif (
            isinstance(entry, dict)
            and list(entry) == ["include-group"]
            and isinstance(entry["include-group"], str)
        ):
            found = _expand_group(groups, _normalize(entry["include-group"]), [*stack, name], path, asked)
        else:
            raise DependencyError(
                f"{path}: dependency group {name!r} entry {entry!r} is neither a requirement "
                'string nor {include-group = "<name>"} (PEP 735).'
            )
        result.extend(r for r in found if r not in result)
    return result


def _expand_self_references(
    requirements: Sequence[str], data: Mapping[str, Any], path: Path, where: str
) -> list[str]:
    """Replace ``<this project>[extra]`` by that extra's requirements.

    The harness always tests the project's own wheel, which is installed from the
    file given to ``--pyodide-wheel``; asking an index for the project would fetch
    a different build (or nothing, for an unreleased version). So a bare
    self-reference is dropped and one with extras becomes the extras' lists,
    markers combined. If the extras are ``dynamic`` the reference is kept, and pip
    merges it with the wheel under test of the same name.
    """
    project = data.get("project")
    own = project.get("name") if isinstance(project, dict) else None
    if not isinstance(own, str):
        return list(requirements)
    dynamic = project.get("dynamic", []) if isinstance(project, dict) else []
    if "optional-dependencies" in dynamic:
        return list(requirements)
    own_name = canonicalize_name(own)
    extras = _optional_dependencies(data, path)
    result: list[str] = []

    def add(requirement: str, extra_marker: Marker | None, seen: tuple[str, ...]) -> None:
        try:
            parsed = Requirement(requirement)
        except InvalidRequirement as exc:
            raise DependencyError(
                f"{path}: {where} entry {requirement!r} is not a valid requirement: {exc}"
            ) from exc
        if canonicalize_name(parsed.name) != own_name:
            if extra_marker is not None:
                parsed.marker = _and_markers(parsed.marker, extra_marker)
                requirement = str(parsed)
            if requirement not in result:
                result.append(requirement)
            return
        marker = _and_markers(parsed.marker, extra_marker) if extra_marker else parsed.marker
        for extra in sorted(_normalize(e) for e in parsed.extras):
            if extra in seen:
                continue
            if extra not in extras:
                raise DependencyError(
                    f"{path}: {where} asks for {requirement!r}, but the project has no "
                    f"extra {extra!r} in [project.optional-dependencies].\n"
                    "Fix: correct the extra name or define it."
                )
            for item in extras[extra]:
                add(item, marker, (*seen, extra))

    for requirement in requirements:
        add(requirement, None, ())
    return result


def _and_markers(first: Marker | None, second: Marker) -> Marker:
    """``(first) and (second)``; ``second`` alone when ``first`` is None."""
    if first is None:
        return second
    try:
        return Marker(f"({first}) and ({second})")
    except InvalidMarker as exc:  # pragma: no cover - both parts were valid markers
        raise DependencyError(f"Cannot combine markers {first} and {second}: {exc}") from exc


# --- requirements files --------------------------------------------------------------

_REQUIREMENT_OPTION = re.compile(r"^(?:-r|--requirement)(?:\s*=\s*|\s+|(?=[^\s-]))(?P<file>.+)$")
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)\}")
_LINE_OPTION = re.compile(r"\s--?[A-Za-z]")


def read_requirements_file(path: Path) -> list[str]:
    """The requirements listed in ``path`` (``-r FILE``), following nested ``-r``.

    Understands comments, blank lines, ``\\`` continuations, ``${VAR}`` and nested
    ``-r``/``--requirement`` (relative to the including file). Other pip options
    are refused rather than silently ignored, because they cannot be passed on
    per requirement and dropping them would change what gets installed.
    """
    return _read_requirements(Path(path), [], None)


def _read_requirements(path: Path, stack: list[Path], included_from: str | None) -> list[str]:
    """Read one requirements file; ``stack`` holds the files including it."""
    key = path.resolve()
    if key in stack:
        cycle = " -> ".join(str(p) for p in [*stack[stack.index(key) :], key])
        raise DependencyError(f"Requirements files include each other: {cycle}.\nFix: remove one -r line.")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        origin = f" (included from {included_from})" if included_from else ""
        raise DependencyError(
            f"Cannot read requirements file {path}{origin}: {exc.strerror or exc}.\n"
            "Fix: check the path; nested -r paths are relative to the including file."
        ) from exc
    result: list[str] = []
    for lineno, line in _logical_lines(text):
        where = f"{path}:{lineno}"
        option = _REQUIREMENT_OPTION.match(line)
        if option:
            nested = Path(option.group("file").strip())
            if not nested.is_absolute():
                nested = path.parent / nested
            found = _read_requirements(nested, [*stack, key], where)
        elif line.startswith("-") or _LINE_OPTION.search(line):
            raise DependencyError(
                f"{where}: {line!r} uses a pip option; requirement files given to the harness "
                "may hold only requirements and -r lines.\n"
                "Fix: put index options in pip's configuration or PIP_INDEX_URL / "
                "PIP_EXTRA_INDEX_URL / PIP_FIND_LINKS, drop --hash and -c/-e lines, and "
                "list the packages as plain requirements."
            )
        else:
            found = [line]
        result.extend(r for r in found if r not in result)
    return result


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """``(line number, line)`` after joining continuations and removing comments."""
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\") and not _COMMENT.match(raw.strip()):
            pending += raw[:-1]
            continue
        line = _COMMENT.sub("", pending + raw).strip()
        pending = ""
        line = _ENV_VAR.sub(lambda m: os.environ.get(m.group("name"), m.group(0)), line)
        if line:
            yield start, line
    if pending.strip():
        line = _COMMENT.sub("", pending).strip()
        if line:
            yield start, line


# --- resolving -------------------------------------------------------------------------


@dataclass
class _PipRun:
    """What one pip run printed, and its exit status."""

    returncode: int
    output: str


_SAVED = re.compile(r"^\s*(?:Saved|File was already downloaded)\s+(?P<path>.+?)\s*$")
_PROCESSING = re.compile(r"^\s*Processing\s+(?P<path>.+?\.whl)(?:\s+\(from .*\))?\s*$")
_COLLECTING = re.compile(r"^\s*Collecting\s+(?P<req>.+?)(?:\s+\(from (?P<parent>.+)\))?\s*$")
_NOT_FOUND = re.compile(
    r"Could not find a version that satisfies the requirement (?P<req>.+?)"
    r"(?: \(from (?P<parent>[^()]+)\))? \(from versions: (?P<versions>[^)]*)\)"
)
_NO_MATCH = re.compile(r"No matching distribution found for (?P<req>\S+)")


def resolve(
    wheels_under_test: Sequence[tuple[Path, tuple[str, ...]]],
    requirements: Sequence[str],
    cache: Path | None = None,
    log: Callable[[str], None] = _ignore,
) -> Resolution:
    """Download the dependencies of ``wheels_under_test`` (with extras) and ``requirements``.

    Each wheel under test is given to pip as ``name[extras] @ file:///...`` so its
    own Requires-Dist is resolved; it is not part of the result. Returns the wheel
    files in ``cache`` (default :func:`paths.cache_dir`) ``/wheels``.
    """
    for requirement in requirements:
        if requirement.strip().startswith("-"):
            raise DependencyError(
                f"Requirement {requirement!r} looks like a pip option.\n"
                "Fix: pass requirement files with -r FILE handled by the harness "
                "(read_requirements_file) and index options through pip's configuration."
            )
    if not wheels_under_test and not requirements:
        return Resolution((), ())
    dest = (cache if cache is not None else paths.cache_dir()) / "wheels"
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DependencyError(
            f"Cannot create the wheel cache {dest}: {exc}.\n"
            "Fix: set PYODIDE_HARNESS_CACHE to a writable directory."
        ) from exc
    dest = dest.resolve()
    under_test_names: set[str] = set()
    under_test_files: list[Path] = []
    specs: list[str] = []
    for wheel, extras in wheels_under_test:
        path = Path(wheel).resolve()
        try:
            name = parse_wheel_filename(path.name)[0]
        except InvalidWheelFilename as exc:
            raise DependencyError(
                f"{path} is not named like a wheel ({exc}), so its dependencies cannot be "
                "resolved.\nFix: pass the .whl file the build produced."
            ) from exc
        under_test_names.add(name)
        under_test_files.append(path)
        extra_part = f"[{','.join(extras)}]" if extras else ""
        specs.append(f"{name}{extra_part} @ {path.as_uri()}")
    pip_args = [*PIP_PLATFORM_ARGS, *requirements, *specs]

    record = dest.parent / "resolutions" / f"{_resolution_key(wheels_under_test, requirements)}.json"
    if (known := _known_resolution(record, dest)) is not None:
        log(f"Dependencies: {len(known)} wheel(s), as resolved before for the same wheels "
            f"and requirements (no pip run; delete {record} to resolve again)")
        return Resolution(known, tuple(requirements))
    log("Resolving dependencies for Pyodide 314 from the wheel cache")
    offline = _run_pip(
        ["download", "--no-index", "--find-links", str(dest), "--dest", str(dest), *pip_args],
        offline=True,
    )
    if offline.returncode == 0:
        run = offline
        log("Dependencies: all wheels found in the cache; no network used")
    else:
        log("Resolving dependencies for Pyodide 314 with pip (network)")
        run = _run_pip(["download", "--dest", str(dest), *pip_args])
        if run.returncode != 0:
            raise _resolution_error(run, under_test_names, requirements, specs)
    wheels = _wheels_from_output(run.output, dest, under_test_names)
    _drop_copies_of_wheels_under_test(run.output, dest, under_test_files)
    missing = [w for w in wheels if not w.is_file()]
    if missing:
        raise DependencyError(
            "pip reported wheels that are not in the cache: "
            + ", ".join(str(m) for m in missing)
            + f".\nFix: delete {dest} and run again; if it persists, another process "
            "is removing files from it."
        )
    log(f"Dependencies: {len(wheels)} wheel(s) in {dest}")
    _remember_resolution(record, wheels)
    return Resolution(tuple(wheels), tuple(requirements))


RESOLUTION_FORMAT = 1


def _resolution_key(wheels_under_test: Sequence[tuple[Path, tuple[str, ...]]],
                    requirements: Sequence[str]) -> str:
    """What a resolution depends on: the wheels' contents and extras, the requirements,
    the target (platform arguments, markers). The same key gives the same wheels."""
    wheels = [[Path(wheel).name, sorted(extras), file_sha256(Path(wheel))]
              for wheel, extras in wheels_under_test]
    inputs = {"format": RESOLUTION_FORMAT, "platform": PIP_PLATFORM_ARGS,
              "markers": PYODIDE_MARKER_ENV, "requirements": list(requirements), "wheels": wheels}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:32]


def _known_resolution(record: Path, dest: Path) -> tuple[Path, ...] | None:
    """The wheels of an earlier resolution with the same key, if they are all still cached.

    This is what makes a warm run start no pip at all (pip's start-up and its
    offline pass cost 0.5-0.8 s).
    """
    try:
        names = json.loads(record.read_text(encoding="utf-8"))["wheels"]
        wheels = tuple(dest / str(name) for name in names)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return wheels if all(w.is_file() for w in wheels) else None


def _remember_resolution(record: Path, wheels: Sequence[Path]) -> None:
    with contextlib.suppress(OSError):  # only a cache: a read-only one costs a pip run later
        record.parent.mkdir(parents=True, exist_ok=True)
        partial = record.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"wheels": [w.name for w in wheels]}), encoding="utf-8")
        partial.replace(record)


def _run_pip(arguments: Sequence[str], offline: bool = False) -> _PipRun:
    """Run pip through the marker-patching launcher and collect its output.

    ``offline`` runs pip with no configuration at all (``--isolated`` drops PIP_*
    variables and the user's file, ``PIP_CONFIG_FILE=os.devnull`` the global and
    site files), so find-links or indexes from the configuration cannot reach
    the network; the caller passes ``--no-index`` and the cache as find-links.
    """
    env = dict(os.environ)
    # Output is parsed, so keep pip at its normal verbosity whatever the user's config says.
    env.update({"PIP_QUIET": "0", "PIP_VERBOSE": "0", "PYTHONIOENCODING": "utf-8"})
    if offline:
        env["PIP_CONFIG_FILE"] = os.devnull
        arguments = [*arguments[:1], "--isolated", *arguments[1:]]
    command = [
        sys.executable,
        "-c",
        _LAUNCHER,
        json.dumps(PYODIDE_MARKER_ENV),
        *arguments[:1],
        "--no-input",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        *arguments[1:],
    ]
    try:
        proc = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
            check=False,
        )
    except OSError as exc:
        raise DependencyError(
            f"Cannot run {sys.executable} to resolve dependencies with pip: {exc}."
        ) from exc
    if proc.returncode == LAUNCHER_NO_PIP:
        raise DependencyError(
            f"pip is not installed in {sys.executable}; the harness resolves Pyodide "
            f"dependencies with it.\nFix: {sys.executable} -m ensurepip, or "
            "`uv pip install pip` in this environment."
        )
    if proc.returncode == LAUNCHER_PATCH_FAILED:
        raise DependencyError(
            f"The pip installed in {sys.executable} no longer evaluates environment markers "
            "through pip._vendor.packaging.markers.default_environment, so dependencies "
            "cannot be resolved for Pyodide.\nFix: install a pip version known to work "
            "(23.2 to 26) and report this to pytest-pyodide-harness."
        )
    return _PipRun(proc.returncode, proc.stdout)


def _wheel_name(filename: str) -> str | None:
    """The canonical project name of a wheel file name, or None if it is not one."""
    try:
        return parse_wheel_filename(filename)[0]
    except InvalidWheelFilename:
        return None


def _reported_wheels(output: str) -> list[str]:
    """File names of the wheels pip saved, found already downloaded, or processed."""
    names: list[str] = []
    for line in output.splitlines():
        match = _SAVED.match(line) or _PROCESSING.match(line)
        if match:
            filename = Path(match.group("path").replace("\\", "/")).name
            if filename.endswith(".whl") and filename not in names:
                names.append(filename)
    return names


def _wheels_from_output(output: str, dest: Path, under_test: set[str]) -> list[Path]:
    """The dependency wheels of this resolution: pip copies every one into ``dest``."""
    return [
        dest / filename
        for filename in _reported_wheels(output)
        if (name := _wheel_name(filename)) is not None and name not in under_test
    ]


def _drop_copies_of_wheels_under_test(output: str, dest: Path, originals: Sequence[Path]) -> None:
    """Remove the copies pip saved of the wheels under test.

    A stale copy of the project's own build in the cache could later satisfy
    another project's dependency on it in the offline pass.
    """
    saved = {
        Path(m.group("path").replace("\\", "/")).name
        for line in output.splitlines()
        if (m := _SAVED.match(line)) and line.lstrip().startswith("Saved")
    }
    for original in originals:
        copy = dest / original.name
        if original.name in saved and copy.is_file() and copy != original:
            with contextlib.suppress(OSError):
                copy.unlink()


def _requirer_chain(name: str, parents: Mapping[str, str]) -> list[str]:
    """Who required ``name``, then who required that, as far as pip said."""
    chain: list[str] = []
    current = name
    while current in parents and parents[current] not in chain and len(chain) < 20:
        current = parents[current]
        chain.append(current)
    return chain


def _requirement_name(text: str) -> str:
    """Canonical project name of a requirement as pip prints it (``mypkg@ file://...``)."""
    text = text.strip()
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        head = re.split(r"[\s\[<>=!~;@(]", text, maxsplit=1)[0]
        return canonicalize_name(head) if head else text


def _resolution_error(
    run: _PipRun, under_test: set[str], requirements: Sequence[str], specs: Sequence[str]
) -> DependencyError:
    """Turn pip's failure output into an error naming each missing wheel and its requirer."""
    parents: dict[str, str] = {}
    missing: dict[str, str | None] = {}
    for line in run.output.splitlines():
        collecting = _COLLECTING.match(line)
        processing = _PROCESSING.match(line)
        if collecting and collecting.group("parent"):
            parent = collecting.group("parent").split("->")[0]
            parents.setdefault(_requirement_name(collecting.group("req")), parent)
        elif processing and " (from " in line:
            parent = line.split(" (from ", 1)[1].rstrip(")").split("->")[0]
            child = _wheel_name(Path(processing.group("path").replace("\\", "/")).name)
            if child is not None:
                parents.setdefault(child, parent)
        for found in _NOT_FOUND.finditer(line):
            missing.setdefault(found.group("req"), found.group("parent"))
        for found in _NO_MATCH.finditer(line):
            missing.setdefault(found.group("req"), None)
    parent_names = {key: _requirement_name(value) for key, value in parents.items()}
    if missing:
        lines = []
        for requirement, parent in missing.items():
            name = _requirement_name(requirement)
            chain = [_requirement_name(parent)] if parent else []
            start = chain[0] if chain else name
            chain += _requirer_chain(start, parent_names)
            if chain:
                who = "required by " + " <- ".join(
                    f"{c} (under test)" if c in under_test else c for c in chain
                )
            else:
                who = "asked for directly"
            lines.append(f"  {requirement}: {who}")
        return DependencyError(
            "No wheel for Pyodide 314 (pyemscripten_2026_0_wasm32 / py3-none-any) was found for:\n"
            + "\n".join(lines)
            + "\n"
            + MISSING_WHEEL_FIX
            + "\npip said:\n"
            + _tail(run.output)
        )
    asked = ", ".join([*requirements, *specs]) or "nothing"
    return DependencyError(
        f"pip could not resolve the dependencies for Pyodide 314 (asked: {asked}); "
        f"it exited with status {run.returncode}:\n{_tail(run.output)}\n"
        "Fix: follow pip's message above; version conflicts need a different requirement, "
        "network errors need the index reachable (pip's configuration and PIP_* "
        "variables apply)."
    )


def _tail(text: str, lines: int = 20) -> str:
    """The last ``lines`` meaningful lines of pip's output, indented."""
    kept = [
        line
        for line in text.splitlines()
        if line.strip() and "is ignored: it is" not in line and not line.startswith("  ━")
    ][-lines:]
    return "\n".join("    " + line.rstrip() for line in kept) if kept else "    (no output)"
