"""The wheels under test: find those given to ``--pyodide-wheel`` and check that Pyodide can use them.

Everything here runs on the host before any runtime boots, because a wrong tag, a
host-built ``.so`` or a damaged archive is cheap to spot in a zip listing and costly
to meet inside a runtime. This module is what the rest of the harness calls; the work
is split by job:

- ``wheelspec``: option values (files, directories, globs, ``[extras]``) to files,
  and what a glob or directory may skip;
- ``tags``: whether a tag set suits the target, and the explanation when not;
- ``wheelcheck``: one archive against its name (dist-info, WHEEL, METADATA, RECORD,
  extension modules).

None of them imports pytest, so the CLI and other tools can use them too.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import tags, wheelcheck, wheelspec
from .errors import WheelError
from .wheelspec import is_wheel_argument

__all__ = [
    "WheelInfo",
    "WheelIntake",
    "check_wheel",
    "collect_wheels",
    "file_sha256",
    "is_wheel_argument",
]


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
    """Check one wheel file for Pyodide and describe it; raise WheelError if unusable."""
    path = wheelspec.absolute(path)
    if not path.is_file():
        raise WheelError(
            wheelspec.MSG_NOT_FOUND.format(
                option=wheelspec.OPTION, spec=path, path=path, base=Path.cwd()
            )
        )
    name = wheelcheck.parse_filename(path)
    refusal = tags.refusal(name.tags)
    if refusal is not None:
        raise WheelError(refusal.message(path))
    info, declared = _inspect(path, name)
    wanted = wheelspec.parse_extras(extras, where=str(path))
    wheelspec.require_declared(path, declared, wanted, where="")
    return replace(info, extras=wanted)


def collect_wheels(specs: Sequence[str], base: Path, shell_expanded: bool = False) -> WheelIntake:
    """Resolve ``--pyodide-wheel`` values (files, directories, globs, ``[extras]``).

    Named files must be usable. Globs and directories may also match wheels for other
    platforms, as a cibuildwheel ``dist/`` does; those are skipped and reported, but each
    glob or directory must yield at least one usable wheel. ``shell_expanded``: the
    values are one glob the shell expanded, and are taken as its matches.
    """
    base = wheelspec.absolute(base)
    expanded, candidates = wheelspec.expand_specs(specs, base, shell_expanded)
    accepted: dict[Path, tuple[WheelInfo, tuple[str, ...]]] = {}
    refused: dict[Path, tuple[str, tags.Refusal]] = {}
    for path, candidate in candidates.items():
        try:
            name = wheelcheck.parse_filename(path)
            refusal = tags.refusal(name.tags)
            if refusal is None:
                accepted[path] = _inspect(path, name)
            elif candidate.explicit:
                raise WheelError(refusal.message(path))
            else:
                refused[path] = (name.name, refusal)
        except WheelError as exc:
            raise WheelError(wheelspec.with_origin(str(exc), candidate.origin)) from None

    skipped = wheelspec.settle(
        expanded,
        candidates,
        {path: (info.name, declared) for path, (info, declared) in accepted.items()},
        refused,
        base,
    )
    wheels = tuple(
        replace(info, extras=wheelspec.extras_for(candidates[path], declared))
        for path, (info, declared) in accepted.items()
    )
    return WheelIntake(wheels=wheels, skipped=skipped)


def file_sha256(path: Path) -> str:
    """The file's sha256. Within one process it is read once per inode, size and mtime:
    the intake and the dependency resolution (which keys its cache by it) both ask
    for each wheel under test."""
    st = path.stat()
    return _sha256_of(str(path), st.st_ino, st.st_size, st.st_mtime_ns)


def _inspect(path: Path, name: wheelcheck.WheelName) -> tuple[WheelInfo, tuple[str, ...]]:
    """Check the archive; describe the wheel (extras still empty) and its declared extras."""
    facts = wheelcheck.check_archive(path, name)
    info = WheelInfo(
        path=path,
        name=name.name,
        version=str(name.version),
        tags=frozenset(str(tag) for tag in name.tags),
        extras=(),
        requires_dist=facts.requires_dist,
        top_level=facts.top_level,
        sha256=file_sha256(path),
        is_pure=tags.is_pure(name.tags),
    )
    return info, facts.declared_extras


@functools.lru_cache(maxsize=64)
def _sha256_of(path: str, inode: int, size: int, mtime_ns: int) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()
