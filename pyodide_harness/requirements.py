"""Where a project's test requirements come from, each source named.

Explicit options win: ``--pyodide-requirement``, ``--pyodide-requirements FILE``
and ``--pyodide-dependency-group`` give exactly what was asked. Without them the
harness looks where projects keep test requirements, in this order of trust:

1. ``pyproject.toml``: the first ``[dependency-groups]`` group named test, tests
   or testing, else the ``[project.optional-dependencies]`` extra of those names.
2. One test requirements file, the first of :data:`TEST_FILES` present, else the
   first match of :data:`TEST_FILE_PATTERNS`. Exact names come first because the
   glob variants are often alternatives (``requirements-test-min.txt`` pins the
   oldest supported versions); taking several would make pip resolve conflicting
   pins. 1 and 2 are used together: both say "what the tests need".
3. Only when neither exists: one development file (:data:`DEV_FILES`). Those mix
   test requirements with linters, docs and release tools that have no Pyodide
   wheel and no use inside the runtime, so known host tools are dropped with a
   note (:data:`HOST_TOOLS`) and the source is not strict: the resolver drops
   its entries that have no Pyodide wheel instead of failing.

``dev`` groups and extras are never taken, for the same reason as 3 but without a
file a maintainer expects to be read.

Lines of requirement files the runtime cannot use are handled, each with a note:
the project itself (``.``, ``-e .``) is the wheel under test; ``.[extra]`` becomes
that extra's requirements; other source directories, sdists and VCS URLs need a
build; local and remote wheel files are kept as ``name @ URL``; index options,
constraints and hashes are ignored (hashes pin host wheels, not Pyodide's).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from .compat import tomllib
from .errors import DependencyError

__all__ = [
    "DEV_FILES",
    "HOST_TOOLS",
    "TEST_FILES",
    "TEST_FILE_PATTERNS",
    "TEST_GROUP_NAMES",
    "RequirementSource",
    "RequirementsFile",
    "dependency_group",
    "describe_sources",
    "find_test_requirements",
    "read_requirements",
    "test_requirements_from_project",
]

#: Group / extra names taken as "the test requirements", in order. Not ``dev``.
TEST_GROUP_NAMES = ("test", "tests", "testing")

#: Test requirement files, exact names, most common spelling first.
TEST_FILES = (
    "requirements-test.txt",
    "requirements-tests.txt",
    "requirements-testing.txt",
    "requirements_test.txt",
    "requirements_tests.txt",
    "test-requirements.txt",
    "tests-requirements.txt",
    "test_requirements.txt",
    "requirements/test.txt",
    "requirements/tests.txt",
    "requirements/testing.txt",
    "tests/requirements.txt",
    "test/requirements.txt",
)
#: Tried when no exact name exists; the alphabetically first match of the first
#: pattern that matches wins.
TEST_FILE_PATTERNS = (
    "requirements-test*.txt",
    "requirements_test*.txt",
    "test-requirements*.txt",
    "test_requirements*.txt",
    "requirements/test*.txt",
    "tests/requirements*.txt",
)
#: Development files: the fallback when the project names no test requirements.
DEV_FILES = (
    "requirements-dev.txt",
    "requirements_dev.txt",
    "dev-requirements.txt",
    "requirements/dev.txt",
    "requirements/development.txt",
)
#: Host tools found in development files that tests never import; dropped from
#: development files only (a test group that lists mypy may run it in its tests).
HOST_TOOLS = frozenset({
    "pip", "setuptools-scm", "wheel", "build", "twine", "tox", "nox", "pre-commit",
    "virtualenv", "pip-tools", "uv", "hatch", "flit", "poetry", "ruff", "black", "flake8",
    "isort", "pylint", "mypy", "pyright", "codespell", "codecov", "coveralls",
    "check-manifest", "bump2version", "bumpversion", "towncrier", "sphinx", "furo",
    "mkdocs", "ipython", "ipdb", "jupyter",
})  # fmt: skip
#: Prefixes of host-tool families (flake8 plugins, sphinx themes, typeshed stubs, ...).
HOST_TOOL_PREFIXES = ("flake8-", "sphinx-", "sphinxcontrib-", "mkdocs-", "types-", "pre-commit-")


@dataclass(frozen=True)
class RequirementSource:
    """Requirements from one named place, e.g. ``requirements-dev.txt``."""

    name: str
    """How the run's output names it: a file path relative to the project, a
    pyproject table, or the option."""
    requirements: tuple[str, ...]
    notes: tuple[str, ...] = ()
    """What was left out or changed, and why; one line each."""
    strict: bool = True
    """False for development files: entries without a Pyodide wheel are dropped."""


@dataclass(frozen=True)
class RequirementsFile:
    """What :func:`read_requirements` found in a requirements file."""

    requirements: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())


def describe_sources(sources: Sequence[RequirementSource]) -> str:
    """``requirements-dev.txt (7), pyproject.toml [dependency-groups] test (3)``."""
    return ", ".join(f"{s.name} ({len(s.requirements)})" for s in sources) or "none"


# --- finding the sources ---------------------------------------------------------------


def find_test_requirements(
    project_root: Path,
    *,
    requirements: Sequence[str] = (),
    files: Sequence[Path] = (),
    groups: Sequence[str] = (),
) -> list[RequirementSource]:
    """The project's test requirements, one :class:`RequirementSource` per place.

    With any explicit option (``requirements``, ``files``, ``groups``) only those
    are used, all strict. Otherwise the places of the module docstring are searched.
    ``files`` are paths as the user gave them, already made absolute by the caller.
    """
    root = Path(project_root)
    if requirements or files or groups:
        sources: list[RequirementSource] = []
        if requirements:
            for requirement in requirements:
                _check_requirement(requirement, "--pyodide-requirement")
            sources.append(RequirementSource("--pyodide-requirement", tuple(requirements)))
        for path in files:
            found = read_requirements(path, project_root=root)
            sources.append(RequirementSource(_display(path, root), found.requirements, found.notes))
        data = _load_pyproject(root) if groups else None
        for group in groups:
            sources.append(RequirementSource(f"pyproject.toml [dependency-groups] {group}",
                                             tuple(_dependency_group(data, root, group))))
        return sources
    sources = []
    declared = _pyproject_test_source(root)
    if declared is not None:
        sources += _host_tools_apart(declared)
    test_file = _first_present(root, TEST_FILES, TEST_FILE_PATTERNS)
    if test_file is not None:
        found = read_requirements(test_file, project_root=root)
        sources += _host_tools_apart(
            RequirementSource(_display(test_file, root), found.requirements, found.notes))
    if sources:
        return sources
    dev_file = _first_present(root, DEV_FILES, ())
    if dev_file is None:
        return []
    found = read_requirements(dev_file, project_root=root)
    kept, tools = _without_host_tools(found.requirements)
    notes = list(found.notes)
    if tools:
        names = ", ".join(name for _, name in tools)
        notes.append(f"{_display(dev_file, root)}: left out host tools {names} "
                     "(not used by tests inside the runtime; add one with --pyodide-requirement "
                     "if a test imports it)")
    return [RequirementSource(_display(dev_file, root), kept, tuple(notes), strict=False)]


# Importing this into a test module must not make pytest collect it as a test.
find_test_requirements.__test__ = False  # type: ignore[attr-defined]


def _display(path: Path, root: Path) -> str:
    """``path`` relative to the project when inside it, with / separators."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _first_present(root: Path, names: Sequence[str], patterns: Sequence[str]) -> Path | None:
    for name in names:
        if (root / name).is_file():
            return root / name
    for pattern in patterns:
        matches = sorted(p for p in root.glob(pattern) if p.is_file())
        if matches:
            return matches[0]
    return None


def _host_tools_apart(source: RequirementSource) -> list[RequirementSource]:
    """A found (not asked-for) source, with the linters and build tools some projects list
    among their test requirements in a source of their own that is not strict: they are
    installed when Pyodide can install them (a test may import mypy), and left out with a
    note when not (more-itertools lists ruff, which has no Pyodide wheel)."""
    kept, tools = _without_host_tools(source.requirements)
    if not tools:
        return [source]
    return [RequirementSource(source.name, kept, source.notes, source.strict),
            RequirementSource(f"{source.name} (host tools)", tuple(r for r, _ in tools), (),
                              strict=False)]


def _host_tool_name(requirement: str) -> str | None:
    """The requirement's name as written when it is a host tool, else None."""
    try:
        name = Requirement(requirement).name
    except InvalidRequirement:
        return None
    canonical = canonicalize_name(name)
    return name if canonical in HOST_TOOLS or canonical.startswith(HOST_TOOL_PREFIXES) else None


def _without_host_tools(
    requirements: Sequence[str],
) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    """(the requirements that are not host tools, (requirement, name) of those that are)."""
    kept: list[str] = []
    tools: list[tuple[str, str]] = []
    for requirement in requirements:
        name = _host_tool_name(requirement)
        if name is None:
            kept.append(requirement)
        else:
            tools.append((requirement, name))
    return tuple(kept), tools


def _check_requirement(requirement: str, where: str) -> None:
    if requirement.strip().startswith("-"):
        raise DependencyError(
            f"{where} {requirement!r} looks like a pip option.\n"
            "Fix: pass requirement files with --pyodide-requirements FILE and index "
            "options through pip's configuration."
        )


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


def _pyproject_test_source(project_root: Path) -> RequirementSource | None:
    """The first test group, else the first test extra, of ``pyproject.toml``."""
    data = _load_pyproject(project_root)
    if data is None:
        return None
    path = project_root / "pyproject.toml"
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        present = {canonicalize_name(str(key)) for key in groups}
        for name in TEST_GROUP_NAMES:
            if name in present:
                return RequirementSource(f"pyproject.toml [dependency-groups] {name}",
                                         tuple(_dependency_group(data, project_root, name)))
    extras = _optional_dependencies(data, path)
    for name in TEST_GROUP_NAMES:
        if name in extras:
            found = _expand_self_references(extras[name], data, path, f"extra {name!r}")
            return RequirementSource(f"pyproject.toml [project.optional-dependencies] {name}",
                                     tuple(found))
    return None


def test_requirements_from_project(project_root: Path) -> list[str]:
    """The requirements of the project's test group or extra in ``pyproject.toml``.

    The first ``[dependency-groups]`` group named test, tests or testing wins
    (include-group expanded); else the ``[project.optional-dependencies]`` extra of
    those names; else ``[]``. Requirement files are not read here; see
    :func:`find_test_requirements`, which also names its sources.
    """
    source = _pyproject_test_source(Path(project_root))
    return list(source.requirements) if source is not None else []


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
        extras[canonicalize_name(str(key))] = list(value)
    return extras


def dependency_group(project_root: Path, name: str) -> list[str]:
    """The requirements of PEP 735 group ``name`` with ``include-group`` expanded.

    Raises :class:`DependencyError` for an unknown group, an include cycle or a
    malformed entry, naming the group and what to change.
    """
    return _dependency_group(_load_pyproject(project_root), project_root, name)


def _dependency_group(data: Mapping[str, Any] | None, project_root: Path, name: str) -> list[str]:
    """:func:`dependency_group` of the already parsed ``pyproject.toml`` (None: there is none)."""
    path = project_root / "pyproject.toml"
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
        normalized = canonicalize_name(str(key))
        if normalized in groups:
            raise DependencyError(
                f"{path}: [dependency-groups] has two groups that normalize to "
                f"{normalized!r}; PEP 735 forbids that. Fix: rename or merge them."
            )
        groups[normalized] = value
    requirements = _expand_group(groups, canonicalize_name(name), [], path, name)
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
            found = _expand_group(groups, canonicalize_name(entry["include-group"]),
                                  [*stack, name], path, asked)
        else:
            raise DependencyError(
                f"{path}: dependency group {name!r} entry {entry!r} is neither a requirement "
                'string nor {include-group = "<name>"} (PEP 735).'
            )
        result.extend(r for r in found if r not in result)
    return result


def _project_name(data: Mapping[str, Any] | None) -> str | None:
    project = data.get("project") if data is not None else None
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) else None


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
    own = _project_name(data)
    if own is None:
        return list(requirements)
    project = data["project"]
    if "optional-dependencies" in project.get("dynamic", []):
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
        for extra in sorted(canonicalize_name(e) for e in parsed.extras):
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

_NESTED = re.compile(r"^(?P<option>-r|--requirement|-c|--constraint|-e|--editable)"
                     r"(?:\s*=\s*|\s+|(?=[^\s-]))(?P<value>.+)$")
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)\}")
#: Options pip allows after a requirement on the same line.
_PER_REQUIREMENT_OPTION = re.compile(r"\s+(?P<option>--(?:hash|config-settings|global-option|"
                                     r"install-option))(?:\s*=\s*|\s+)\S+")
_EXTRAS_SUFFIX = re.compile(r"^(?P<target>.+?)(?P<extras>\[[^\]]*\])?$")
_VCS_SCHEMES = ("git+", "hg+", "svn+", "bzr+")

_INDEX_OPTIONS = frozenset({"-i", "--index-url", "--extra-index-url", "--no-index", "-f",
                            "--find-links", "--trusted-host"})
#: Why an option line is ignored: index options, then any other option.
INDEX_OPTION_NOTE = ("the harness's pip reads your pip configuration; set the index there "
                     "or in PIP_INDEX_URL / PIP_EXTRA_INDEX_URL / PIP_FIND_LINKS")
OTHER_OPTION_NOTE = "a pip option for installing on the host, not a requirement"
CONSTRAINTS_NOTE = "constraints files are not applied (pin versions in the requirements instead)"


def read_requirements(path: Path, *, project_root: Path | None = None) -> RequirementsFile:
    """The requirements listed in ``path`` (pip's requirement-file format), with notes.

    Follows nested ``-r``/``--requirement`` (relative to the including file) and
    understands comments, blank lines, ``\\`` continuations and ``${VAR}``. Local
    paths are looked up from ``project_root`` (where pip is usually run), then
    from the file's directory. What the runtime cannot use is left out with a note
    (see the module docstring); a line that is neither a requirement, a path, a URL
    nor an option is an error naming the file and line.
    """
    root = Path(project_root) if project_root is not None else Path(path).parent
    pyproject = _load_pyproject(root)
    reader = _Reader(root.resolve(), _project_name(pyproject), pyproject)
    requirements = reader.read(Path(path), [], None)
    notes = list(reader.notes)
    for file, count in reader.hashes.items():
        notes.append(f"{file}: --hash ignored on {count} line(s) (hashes pin the host's wheels; "
                     "the harness resolves wheels for Pyodide)")
    return RequirementsFile(tuple(requirements), tuple(notes))


class _Reader:
    """State of one :func:`read_requirements` call: notes, hash counts, the project."""

    def __init__(self, root: Path, own: str | None, pyproject: Mapping[str, Any] | None) -> None:
        self.root = root
        self.own = own
        self.pyproject = pyproject
        self.notes: list[str] = []
        self.hashes: dict[str, int] = {}

    def read(self, path: Path, stack: list[Path], included_from: str | None) -> list[str]:
        """Read one requirements file; ``stack`` holds the files including it."""
        key = path.resolve()
        if key in stack:
            cycle = " -> ".join(str(p) for p in [*stack[stack.index(key) :], key])
            raise DependencyError(
                f"Requirements files include each other: {cycle}.\nFix: remove one -r line.")
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
            where = f"{_display(path, self.root)}:{lineno}"
            nested = _NESTED.match(line)
            if nested and nested["option"] in ("-r", "--requirement"):
                target = Path(nested["value"].strip())
                if not target.is_absolute():
                    target = path.parent / target
                found = self.read(target, [*stack, key], where)
            elif nested and nested["option"] in ("-c", "--constraint"):
                self.notes.append(f"{where}: {line!r} ignored: {CONSTRAINTS_NOTE}")
                found = []
            elif nested:  # -e / --editable
                found = self._target(nested["value"].strip(), where, path, editable=True)
            elif line.startswith("-"):
                option = line.split(None, 1)[0].split("=", 1)[0]
                why = INDEX_OPTION_NOTE if option in _INDEX_OPTIONS else OTHER_OPTION_NOTE
                self.notes.append(f"{where}: {line!r} ignored: {why}")
                found = []
            else:
                found = self._requirement(line, where, path)
            result.extend(r for r in found if r not in result)
        return result

    def _requirement(self, line: str, where: str, file: Path) -> list[str]:
        """A requirement line, per-requirement options removed."""
        options = [m["option"] for m in _PER_REQUIREMENT_OPTION.finditer(line)]
        line = _PER_REQUIREMENT_OPTION.sub("", line).strip()
        if "--hash" in options:
            shown = _display(file, self.root)
            self.hashes[shown] = self.hashes.get(shown, 0) + 1
        for option in sorted(set(options) - {"--hash"}):
            self.notes.append(f"{where}: {option} ignored (options of a build on the host)")
        try:
            parsed = Requirement(line)
        except InvalidRequirement:
            return self._target(line, where, file, editable=False)
        if parsed.url is not None:
            return self._url_requirement(parsed, line, where)
        if self.own is not None and canonicalize_name(parsed.name) == canonicalize_name(self.own):
            return self._self_reference(parsed, where)
        return [line]

    def _url_requirement(self, parsed: Requirement, line: str, where: str) -> list[str]:
        """``name @ URL``: kept as written when the URL is a wheel, else left out."""
        url = parsed.url or ""
        if urlsplit(url).path.endswith(".whl") and not url.startswith(_VCS_SCHEMES):
            return [line]
        self.notes.append(f"{where}: {parsed.name} @ {url} left out: not a wheel, and building "
                          "it is outside the harness (build a wheel and pass it with --pyodide-wheel)")
        return []

    def _self_reference(self, parsed: Requirement, where: str) -> list[str]:
        """The project itself: nothing, or its extras' requirements."""
        if not parsed.extras:
            self.notes.append(f"{where}: {parsed.name} left out: the wheel under test is this project")
            return []
        assert self.pyproject is not None
        return _expand_self_references([str(parsed)], self.pyproject, self.root / "pyproject.toml", where)

    def _target(self, text: str, where: str, file: Path, *, editable: bool) -> list[str]:
        """A path or URL, with optional ``[extras]``, as pip accepts them on a line."""
        match = _EXTRAS_SUFFIX.match(text)
        assert match is not None
        target, extras = match["target"].strip(), match["extras"] or ""
        how = "-e " if editable else ""
        if target.startswith(_VCS_SCHEMES):
            self.notes.append(f"{where}: {how}{text} left out: a VCS checkout must be built "
                              "(build a wheel and pass it with --pyodide-wheel)")
            return []
        parts = urlsplit(target)
        if parts.scheme in ("http", "https"):
            return self._wheel_file(target, parts.path, where, text) if not editable else self._unbuilt(
                where, how + text)
        local = Path(url2pathname(unquote(parts.path))) if parts.scheme == "file" else Path(target)
        candidates = [local] if local.is_absolute() else [self.root / local, file.parent / local]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            if parts.scheme or "/" in target or target.startswith(".") or target.endswith(
                    (".whl", ".zip", ".tar.gz")):
                raise DependencyError(
                    f"{where}: {text!r} is not a requirement, and no such path exists "
                    f"(looked in {self.root}).\nFix: correct the line, or pass the test "
                    "requirements explicitly with --pyodide-requirement.")
            raise DependencyError(
                f"{where}: {text!r} is not a valid requirement.\n"
                "Fix: correct the line, or pass the test requirements explicitly with "
                "--pyodide-requirement.")
        found = found.resolve()
        if found.is_dir():
            if found == self.root:
                return self._project_itself(extras, where, how + text)
            return self._unbuilt(where, how + text)
        if found.suffix == ".whl" and not editable:
            return self._wheel_file(found.as_uri(), found.name, where, text)
        return self._unbuilt(where, how + text)

    def _project_itself(self, extras: str, where: str, text: str) -> list[str]:
        if not extras:
            self.notes.append(f"{where}: {text} left out: it is the project itself; "
                              "the wheel under test stands for it")
            return []
        if self.own is None or self.pyproject is None:
            self.notes.append(f"{where}: {text} left out: it is the project itself, and its "
                              f"extras {extras} cannot be read without [project] name in "
                              "pyproject.toml (list them with --pyodide-requirement)")
            return []
        self.notes.append(f"{where}: {text}: the wheel under test stands for the project; "
                          f"its extras {extras} are added")
        return _expand_self_references([f"{self.own}{extras}"], self.pyproject,
                                       self.root / "pyproject.toml", where)

    def _unbuilt(self, where: str, text: str) -> list[str]:
        self.notes.append(f"{where}: {text} left out: sources must be built into a wheel "
                          "first (build one and pass it with --pyodide-wheel)")
        return []

    def _wheel_file(self, url: str, path: str, where: str, text: str) -> list[str]:
        filename = path.rsplit("/", 1)[-1]
        try:
            name = parse_wheel_filename(unquote(filename))[0]
        except InvalidWheelFilename:
            return self._unbuilt(where, text)
        return [f"{name} @ {url}"]


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
