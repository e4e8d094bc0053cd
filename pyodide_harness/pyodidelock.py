"""Pyodide's lock (``pyodide-lock.json``): what it holds, and which requirements it satisfies.

The lock lists the packages Pyodide builds itself (numpy, scipy, pyyaml, ... 357
entries in 314.0.7), each with ``file_name``, ``sha256``, ``version`` and
``depends``. micropip, which is how a Pyodide app installs a wheel, consults it
before any index: a requirement whose name is in the lock and whose specifier
contains the lock's version is taken from the lock, together with everything
the lock's ``depends`` name (``pyodide.loadPackage`` loads those, whatever the
versions); a lock version outside the specifier sends micropip to the index.
:class:`Selection` applies those rules; :mod:`lockresolve` runs them before pip.

Read with a small typed reader, not the ``pyodide-lock`` package: its releases that
install on Python 3.10 and 3.11 (0.1.x, pydantic models that forbid unknown keys)
refuse the 314 lock (359 errors: no ``info.version``, a ``tool`` key in every
entry), and 0.2.1, which reads it, requires Python >= 3.12. Only the fields the
harness uses are read, unknown keys are ignored (the next field Pyodide adds does
not stop a run), and an entry the harness cannot use is refused only when a run
needs it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .errors import DependencyError, DistributionError

__all__ = [
    "LOCK_NOT_A_WHEEL",
    "LOCK_UNREADABLE",
    "LockEntry",
    "Outside",
    "PyodideLock",
    "Selection",
    "read_lock",
]

LOCK_UNREADABLE = (
    "Pyodide's lock {path} cannot be read: {problem}.\n"
    "Fix: pass --pyodide-dist with an unaltered Pyodide distribution, or delete the "
    "cached distribution's directory to fetch it again."
)
LOCK_NOT_A_WHEEL = (
    "{requirer} needs {name} {version} from Pyodide's lock, a {kind} ({file}); the harness "
    "installs lock packages as wheel files and cannot install it.\n"
    "Fix: leave {requirer} out of this run's requirements, or report the case to "
    "pytest-pyodide-harness."
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class LockEntry:
    """One package of the lock, as the harness uses it."""

    key: str
    """The lock's key for it: its canonical name."""
    name: str
    version: str
    file_name: str
    """Relative to the package base URL, or a URL of its own."""
    sha256: str
    depends: tuple[str, ...]
    """Canonical names of lock packages ``loadPackage`` loads with it."""
    package_type: str = "package"

    @property
    def is_wheel(self) -> bool:
        return self.package_type == "package" and self.file_name.endswith(".whl")

    @property
    def basename(self) -> str:
        """The file's own name (a ``file_name`` may be a URL or a relative path)."""
        return self.file_name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class PyodideLock:
    path: Path
    packages: Mapping[str, LockEntry]
    digest: str
    """sha256 of the lock file: files are cached per lock."""
    problems: Mapping[str, str] = field(default_factory=dict)
    """Key -> what is wrong with an entry: refused only if a run needs it."""

    def problem(self, key: str) -> DistributionError | None:
        if key not in self.problems:
            return None
        return DistributionError(LOCK_UNREADABLE.format(
            path=self.path, problem=f"package {key!r}: {self.problems[key]}"))


def read_lock(path: Path) -> PyodideLock:
    """The lock at ``path``; raises DistributionError naming the file and the problem."""
    try:
        raw = path.read_bytes()
        data: Any = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise DistributionError(LOCK_UNREADABLE.format(path=path, problem=exc)) from exc
    packages = data.get("packages") if isinstance(data, dict) else None
    if not isinstance(packages, dict):
        raise DistributionError(LOCK_UNREADABLE.format(path=path, problem="no 'packages' object"))
    entries = {}
    problems: dict[str, str] = {}
    for key, item in packages.items():
        entry = _entry(str(key), item)
        if isinstance(entry, str):
            problems[canonicalize_name(str(key))] = entry
        else:
            entries[entry.key] = entry
    return PyodideLock(path, entries, hashlib.sha256(raw).hexdigest(), problems)


def _entry(key: str, item: Any) -> LockEntry | str:
    """The entry, or what is wrong with it."""
    if not isinstance(item, dict):
        return "not an object"
    for name in ("name", "version", "file_name", "sha256"):
        if not isinstance(item.get(name), str) or not item[name]:
            return f"no {name}"
    if not _SHA256.match(item["sha256"]):
        return f"sha256 {item['sha256']!r} is not 64 hex digits"
    depends = item.get("depends", [])
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        return "depends is not a list of names"
    return LockEntry(canonicalize_name(key), item["name"], item["version"], item["file_name"],
                     item["sha256"], tuple(canonicalize_name(d) for d in depends),
                     str(item.get("package_type", "package")))


@dataclass(frozen=True)
class Outside:
    """A requirement naming a lock package whose lock version it excludes."""

    requirement: str
    requirer: str
    entry: LockEntry

    def describe(self, version: str) -> str:
        return (f"{self.requirement} (required by {self.requirer}): Pyodide {version}'s lock has "
                f"{self.entry.name} {self.entry.version}, outside that specifier")


@dataclass
class Selection:
    """The lock packages a run takes, by micropip's rules, and the requirements the lock
    could not satisfy because of their specifier."""

    lock: PyodideLock
    exempt: frozenset[str] = frozenset()
    """Names never taken from the lock: the wheels under test, the harness's own pins."""
    chosen: dict[str, LockEntry] = field(default_factory=dict)
    """Key -> entry, in the order they were taken."""
    why: dict[str, str] = field(default_factory=dict)
    """Key -> who asked for it first (a requirer, or the lock package that depends on it)."""
    outside: dict[str, Outside] = field(default_factory=dict)
    left: set[str] = field(default_factory=set)
    """Keys left to the index (their file could not be had)."""

    def leave(self, key: str) -> None:
        """Take ``key`` back: the index resolves it instead."""
        self.chosen.pop(key, None)
        self.left.add(key)

    def consider(self, requirement: Requirement, requirer: str) -> bool:
        """Take ``requirement`` from the lock if micropip would; True if that chose new entries.

        Markers are the caller's business (they are evaluated for Pyodide before)."""
        key = canonicalize_name(requirement.name)
        if requirement.url or key in self.exempt or key in self.left:
            return False
        problem = self.lock.problem(key)
        if problem is not None:
            raise problem
        entry = self.lock.packages.get(key)
        if entry is None:
            return False
        if not requirement.specifier.contains(entry.version, prereleases=True):
            self.outside.setdefault(str(requirement), Outside(str(requirement), requirer, entry))
            return False
        if key in self.chosen:
            return False
        self._take(entry, requirer)
        return True

    def _take(self, first: LockEntry, requirer: str) -> None:
        """``first`` and its ``depends``, transitively, as ``loadPackage`` loads them."""
        queue = [(first, requirer)]
        while queue:
            entry, by = queue.pop(0)
            if entry.key in self.chosen or entry.key in self.exempt or entry.key in self.left:
                continue
            if not entry.is_wheel:
                kind = "shared library" if entry.package_type == "shared_library" else \
                    f"{entry.package_type} that is not a wheel"
                raise DependencyError(LOCK_NOT_A_WHEEL.format(
                    requirer=by, name=entry.name, version=entry.version, kind=kind, file=entry.file_name))
            self.chosen[entry.key] = entry
            self.why[entry.key] = by
            for name in entry.depends:
                broken = self.lock.problem(name)
                if broken is not None:
                    raise broken
                dependency = self.lock.packages.get(name)
                if dependency is None:
                    missing = f"{entry.key} depends on {name!r}, which it does not list"
                    raise DistributionError(LOCK_UNREADABLE.format(path=self.lock.path, problem=missing))
                queue.append((dependency, f"{entry.name} (Pyodide's lock)"))

    def entries(self) -> tuple[LockEntry, ...]:
        return tuple(self.chosen.values())
