"""Dependencies as Pyodide installs them: its lock first, then the index through pip.

For each requirement of the wheels under test (their Requires-Dist, with extras and
Pyodide's markers) and of the test requirements, :class:`pyodidelock.Selection`
takes what micropip would take from Pyodide's lock (name, version specifier, the
lock's ``depends``); :mod:`lockfiles` gets those files; :func:`resolver.resolve`
then runs pip with them as provided wheels, for everything else. When pip finds
no wheel for a dependency of an index package, the lock is asked for it too (a
pure PyPI package requiring numpy), and pip runs again; dependencies of lock
packages that the lock lacks come from the index, as pip reads their Requires-Dist.

Never taken from the lock: the wheels under test, and the harness's own
requirements (pytest at the host's version), which are the test tool, not what
a user's users install.

A warm run (same wheels, requirements and lock) reads the lock, verifies the
cached files and reuses the remembered resolution: no network, no pip.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from . import resolver
from .distribution import SOURCE_DIST_OPTION, Distribution, ignore
from .errors import DependencyError
from .lockfiles import LEFT_TO_INDEX, LOCK, LockFiles
from .pyodidelock import Selection, read_lock
from .requirements import RequirementSource
from .target import MARKER_ENVIRONMENT
from .wheels import WheelInfo

__all__ = ["LOCK_OUTSIDE", "lock_files", "resolve"]

LOCK_OUTSIDE = "Pyodide's lock was asked first, as micropip does, and could not satisfy:"


def lock_files(dist: Distribution, base_url: str | None = None, *, cache: Path | None = None,
               log: Callable[[str], None] = ignore) -> LockFiles:
    """The lock of ``dist`` and where its files come from (``--pyodide-dist``: beside it)."""
    lock = read_lock(dist.path / "pyodide-lock.json")
    dist_dir = dist.path if dist.source == SOURCE_DIST_OPTION else None
    return LockFiles(lock, dist.version, dist_dir=dist_dir, base_url=base_url, cache=cache, log=log)


def resolve(
    wheels: Sequence[WheelInfo],
    requirements: Sequence[str] = (),
    *,
    files: LockFiles,
    sources: Sequence[RequirementSource] = (),
    cache: Path | None = None,
    log: Callable[[str], None] = ignore,
) -> resolver.Resolution:
    """The dependency wheels of ``wheels`` and the requirements: lock packages labelled
    ``lock``, the rest as :func:`resolver.resolve` labels them. ``requirements`` are the
    harness's own (strict, never from the lock); ``sources`` the test requirements."""
    exempt = {canonicalize_name(w.name) for w in wheels}
    exempt |= {canonicalize_name(r.name) for r in map(_parse, requirements) if r is not None}
    selection = Selection(files.lock, frozenset(exempt))
    for wheel in wheels:
        for text in wheel.requires_dist:
            requirement = _parse(text)
            if requirement is not None and _applies(requirement, wheel.extras):
                selection.consider(requirement, f"{wheel.name} (under test)")
    for source in sources:
        for text in source.requirements:
            requirement = _parse(text)
            if requirement is not None and _applies(requirement, ()):
                selection.consider(requirement, source.name)

    def provided() -> list[resolver.ProvidedWheels]:
        lost = files.unreachable(selection.entries())
        if lost:
            for entry, _reason in lost:
                selection.leave(entry.key)
            log(LEFT_TO_INDEX.format(names=", ".join(f"{e.name} {e.version}" for e, _ in lost),
                                     url=files.base_url, reason=lost[0][1]))
        return [files.provide(selection.entries())] if selection.chosen else []

    def supply(wanted: Mapping[str, tuple[str, ...]]) -> list[resolver.ProvidedWheels] | None:
        before = set(selection.chosen)
        for text, requirers in wanted.items():
            requirement = _parse(text)
            if requirement is not None:
                selection.consider(requirement, requirers[0] if requirers else "a dependency")
        added = [e for key, e in selection.chosen.items() if key not in before]
        if not added:
            return None
        log("Pyodide lock: " + ", ".join(f"{e.name} {e.version}" for e in added)
            + " for what the index lacks")
        return provided()

    try:
        resolution = resolver.resolve([(w.path, w.extras) for w in wheels], requirements, sources=sources,
                                      provided=provided(), supply=supply, cache=cache, log=log)
    except DependencyError as exc:
        if not selection.outside:
            raise
        lines = "\n".join(f"  {o.describe(files.version)}" for o in selection.outside.values())
        raise DependencyError(f"{exc}\n{LOCK_OUTSIDE}\n{lines}") from exc
    by_file = {e.basename: e for e in files.lock.packages.values()}
    files.check((p.path, by_file[p.path.name]) for p in resolution.packages
                if p.source == LOCK and p.path.name in by_file)
    taken = {p.name: p for p in resolution.packages}
    for outside in selection.outside.values():
        package = taken.get(outside.entry.key)
        instead = f"; {package.name} {package.version} came from the {package.source}" if package else ""
        log(f"{outside.describe(files.version)}{instead}")
    return resolution


def _parse(text: str) -> Requirement | None:
    """A requirement, or None for what pip will report itself (a file path, an option)."""
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _applies(requirement: Requirement, extras: Sequence[str]) -> bool:
    """Whether ``requirement``'s marker holds in Pyodide, for no extra or one of ``extras``."""
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**MARKER_ENVIRONMENT, "extra": extra})
               for extra in ("", *extras))
