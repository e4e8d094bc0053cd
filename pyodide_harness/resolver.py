"""Turn wheels under test and test requirements into the dependency wheels Pyodide needs.

pip does the resolving (see :mod:`piprun` for why and how it is made to evaluate
markers as Pyodide would). Three levels, cheapest first:

1. **Remembered**: a successful resolution is kept in ``<cache>/resolutions``,
   keyed by the wheels' contents, extras, requirements and the target; the same
   inputs again start no pip at all (a warm run).
2. **Cache**: ``pip install --dry-run --report`` against ``<cache>/wheels`` alone
   (``--isolated --no-index``), so new requirements already satisfied by cached
   wheels need no network. The price: an unpinned requirement stays at the
   version first downloaded until the cache no longer satisfies the requirements,
   or is deleted.
3. **Index**: ``pip download`` into the cache with the user's configuration, then
   level 2 again, whose report is the answer.

The resolved set always comes from pip's JSON installation report (pip >= 23.0),
read from the cache, never from pip's human output; the wheels it lists are the
cache files themselves. pip has no structured output for a *failed* resolution,
so on failure four patterns of its error text are read (:func:`parse_failure`):
which requirement had no wheel and who required it, the ``X 1.0 depends on Y``
causes of a conflict, and the ``(from a->b)`` chains of its progress lines. When
every version of a requirer needs a project that has no Pyodide wheel at all,
pip calls it a conflict, not a missing wheel (jinja2 and MarkupSafe); each such
project is then asked for by itself (:func:`availability.query_index`, pip's
JSON report again) to tell a missing wheel from a real conflict. That is what
lets the error name the requirer chain and lets entries of non-strict sources
(development files) be dropped and retried.

A stage before pip (Pyodide's lock, :mod:`pyodidelock`) plugs in through
:class:`ProvidedWheels`: a directory pip sees as extra find-links in both passes,
pins that pip must honour as constraints, and requirements that install the
provider's files. When pip finds no wheel for something, a ``supply`` callback
is asked first whether its stage has one (a lock package a PyPI package
requires); if it returns new providers, the pip passes run again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from . import paths
from .availability import query_index
from .distribution import ignore
from .errors import DependencyError
from .piprun import PipRun, run_pip
from .requirements import RequirementSource
from .target import MARKER_ENVIRONMENT, PIP_PLATFORM_ARGS
from .wheels import file_sha256

__all__ = [
    "MISSING_WHEEL_FIX",
    "Dropped",
    "PipFailure",
    "ProvidedWheels",
    "Resolution",
    "ResolvedWheel",
    "Supply",
    "parse_failure",
    "resolve",
]

#: How to make a missing requirement available; ends the missing-wheel error.
MISSING_WHEEL_FIX = (
    "Fix: publish or build a wheel Pyodide 314 can install (pure Python py3-none-any, "
    "or cp314/abi3 for pyemscripten_2026_0_wasm32), then either pass it with "
    "--pyodide-wheel, or put it in a directory or index pip can see, e.g. "
    "PIP_FIND_LINKS=<dir> or PIP_EXTRA_INDEX_URL=<url>."
)
MISSING_WHEEL = "No wheel for Pyodide 314 (pyemscripten_2026_0_wasm32 / py3-none-any) was found for:"
CONFLICT = "pip could not resolve the dependencies for Pyodide 314"
CACHE_INCONSISTENT = (
    "pip downloaded the dependencies into {dest}, but resolving them from there failed:\n"
    "{tail}\nFix: delete {dest} and run again; if it persists, another process is changing it."
)
#: Bumped when the remembered record changes shape; part of the key.
RESOLUTION_FORMAT = 2
#: How wheels are labelled by where pip found them: its configured sources (through
#: the cache), or a wheel file a requirement names by path.
INDEX = "index"
LOCAL = "file"


@dataclass(frozen=True)
class ProvidedWheels:
    """Wheels a stage before pip supplies (e.g. Pyodide's lock), for pip to use.

    ``directory`` becomes an extra ``--find-links`` of every pip pass, offline ones
    included; ``pins`` (``name==version``) become constraints, so pip takes exactly
    those versions where a requirement names them, and reports a conflict where a
    specifier excludes them.
    """

    label: str
    directory: Path
    pins: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    """Strict requirements that install the provider's files whatever else asks for
    them (``name @ file:///...``): pip takes exactly those files and checks every
    other requirement on those names against them."""


#: Called with what pip found no wheel for, or what a conflict names (requirement ->
#: its requirers, nearest first); returns the providers to try again with, or None
#: when its stage has nothing to add.
Supply = Callable[[Mapping[str, tuple[str, ...]]], "Sequence[ProvidedWheels] | None"]


@dataclass(frozen=True)
class ResolvedWheel:
    """One dependency wheel, as pip's installation report described it."""

    name: str
    version: str
    path: Path
    sha256: str | None
    source: str
    """``index`` (pip's configured sources, through the cache), ``file`` (a wheel a
    requirement names by path) or a provider's label."""


@dataclass(frozen=True)
class Dropped:
    """A requirement of a non-strict source that was left out, and why."""

    requirement: str
    source: str
    reason: str


@dataclass(frozen=True)
class Resolution:
    """The dependency wheels to install next to the wheels under test."""

    wheels: tuple[Path, ...]
    """Dependency wheel files (not including the wheels under test)."""
    requirements: tuple[str, ...]
    """The extra requirements that were asked for (besides the wheels under test)."""
    packages: tuple[ResolvedWheel, ...] = ()
    """``wheels`` with names, versions, hashes and sources, in the same order."""
    dropped: tuple[Dropped, ...] = ()


# --- pip's failure text ----------------------------------------------------------------

#: ``Collecting x (from a->b)`` / ``Processing ./x.whl (from a->b)``: who wanted x.
_REQUIRED_BY = re.compile(r"^\s*(?:Collecting|Processing)\s+(?P<what>.+?)\s+\(from (?P<chain>.+)\)\s*$")
_NOT_FOUND = re.compile(
    r"Could not find a version that satisfies the requirement (?P<req>.+?)"
    r"(?: \(from (?P<parent>[^()]+)\))? \(from versions: (?P<versions>[^)]*)\)"
)
_NO_MATCH = re.compile(r"No matching distribution found for (?P<req>\S+)")
#: ``    depa 2.0 depends on depz>=2.0``: a cause listed under a ResolutionImpossible.
_DEPENDS_ON = re.compile(r"^\s+(?P<who>\S+) (?P<version>\S+) depends on (?P<req>.+?)\s*$")


@dataclass(frozen=True)
class PipFailure:
    """What pip's error text says about a failed resolution."""

    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Requirement without a wheel -> names of its requirers, nearest first."""
    conflicts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Requirement named by a conflict's ``X 1.0 depends on R`` -> X and its requirers."""

    def root(self, requirement: str) -> str:
        """The top of the requirer chain: what was asked for that led to ``requirement``."""
        chain = self.missing[requirement]
        return chain[-1] if chain else _requirement_name(requirement)


def parse_failure(output: str) -> PipFailure:
    """Read the missing requirements and their requirer chains from pip's output."""
    chains: dict[str, list[str]] = {}
    for line in output.splitlines():
        required = _REQUIRED_BY.match(line)
        if required:
            what = required["what"]
            name = _wheel_name(Path(what.replace("\\", "/")).name) or _requirement_name(what)
            chain = [_requirement_name(part) for part in required["chain"].split("->")]
            chains.setdefault(name, chain)
    missing: dict[str, tuple[str, ...]] = {}
    for line in output.splitlines():
        for found in _NOT_FOUND.finditer(line):
            parent = found["parent"]
            missing.setdefault(found["req"], _chain(_requirement_name(parent), chains) if parent else ())
        for found in _NO_MATCH.finditer(line):
            missing.setdefault(found["req"], ())
    conflicts: dict[str, tuple[str, ...]] = {}
    for line in output.splitlines():
        cause = _DEPENDS_ON.match(line)
        if cause:
            conflicts.setdefault(cause["req"], _chain(_requirement_name(cause["who"]), chains))
    return PipFailure(missing, conflicts)


def _chain(parent: str, chains: Mapping[str, list[str]]) -> tuple[str, ...]:
    """``parent`` and who required it, as far as pip's lines tell."""
    result = [parent]
    while result[-1] in chains and len(result) < 50:
        added = [name for name in chains[result[-1]] if name not in result]
        if not added:
            break
        result.extend(added)
    return tuple(result)


def _wheel_name(filename: str) -> str | None:
    """The canonical project name of a wheel file name, or None if it is not one."""
    try:
        return parse_wheel_filename(filename)[0]
    except InvalidWheelFilename:
        return None


def _requirement_name(text: str) -> str:
    """Canonical project name of a requirement as pip prints it (``mypkg@ file://...``)."""
    text = text.strip()
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        head = re.split(r"[\s\[<>=!~;@(]", text, maxsplit=1)[0]
        return canonicalize_name(head) if head else text


# --- resolving -------------------------------------------------------------------------


def resolve(
    wheels_under_test: Sequence[tuple[Path, tuple[str, ...]]],
    requirements: Sequence[str] = (),
    *,
    sources: Sequence[RequirementSource] = (),
    provided: Sequence[ProvidedWheels] = (),
    supply: Supply | None = None,
    cache: Path | None = None,
    log: Callable[[str], None] = ignore,
) -> Resolution:
    """Download the dependencies of ``wheels_under_test`` (with extras) and the requirements.

    ``requirements`` are strict and unnamed (e.g. the pytest pin); ``sources`` are
    named (see :func:`requirements.find_test_requirements`), and the entries of a
    non-strict source that have no Pyodide wheel, or need one that has none, are
    dropped with a note instead of failing. Each wheel under test is given to pip as
    ``name[extras] @ file:///...`` so its own Requires-Dist is resolved; it is not
    part of the result. Downloads go to ``cache`` (default :func:`paths.cache_dir`)
    ``/wheels``. ``provided`` are the wheels of a stage before pip (see
    :class:`ProvidedWheels`); ``supply`` is asked before a failure is reported.
    """
    asked: list[str] = []
    origin: dict[str, list[RequirementSource]] = {}
    for requirement in requirements:
        _check(requirement)
        if requirement not in asked:
            asked.append(requirement)
    for source in sources:
        for requirement in source.requirements:
            _check(requirement)
            origin.setdefault(requirement, []).append(source)
            if requirement not in asked:
                asked.append(requirement)
    if not wheels_under_test and not asked and not any(p.requirements for p in provided):
        return Resolution((), ())
    job = _Job(wheels_under_test, asked, origin, set(requirements), provided, supply, cache, log)
    return job.run()


def _check(requirement: str) -> None:
    if requirement.strip().startswith("-"):
        raise DependencyError(
            f"Requirement {requirement!r} looks like a pip option.\n"
            "Fix: pass requirement files with --pyodide-requirements FILE and index "
            "options through pip's configuration."
        )


class _Job:
    """One call of :func:`resolve`: its inputs, cache paths and the pip passes."""

    def __init__(
        self,
        wheels_under_test: Sequence[tuple[Path, tuple[str, ...]]],
        asked: list[str],
        origin: dict[str, list[RequirementSource]],
        unnamed: set[str],
        provided: Sequence[ProvidedWheels],
        supply: Supply | None,
        cache: Path | None,
        log: Callable[[str], None],
    ) -> None:
        self.asked = asked
        self.origin = origin
        self.provided = tuple(provided)
        self.supply = supply
        self.log = log
        dest = (cache if cache is not None else paths.cache_dir()) / "wheels"
        try:
            dest.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DependencyError(
                f"Cannot create the wheel cache {dest}: {exc}.\n"
                "Fix: set PYODIDE_HARNESS_CACHE to a writable directory."
            ) from exc
        self.dest = dest.resolve()
        self.under_test: dict[str, Path] = {}
        self.specs: list[str] = []
        for wheel, extras in wheels_under_test:
            path = Path(wheel).resolve()
            try:
                name = parse_wheel_filename(path.name)[0]
            except InvalidWheelFilename as exc:
                raise DependencyError(
                    f"{path} is not named like a wheel ({exc}), so its dependencies cannot be "
                    "resolved.\nFix: pass the .whl file the build produced."
                ) from exc
            self.under_test[name] = path
            extra_part = f"[{','.join(extras)}]" if extras else ""
            self.specs.append(f"{name}{extra_part} @ {path.as_uri()}")
        # Requirements that may be dropped: only in non-strict sources, asked by nothing else.
        self.optional = [r for r in asked if r not in unnamed
                         and all(not s.strict for s in origin.get(r, []))]
        self.record = self.dest.parent / "resolutions" / f"{self._key(wheels_under_test)}.json"

    def _key(self, wheels_under_test: Sequence[tuple[Path, tuple[str, ...]]]) -> str:
        """What a resolution depends on: the wheels' contents and extras, the requirements
        and whether each may be dropped, the providers and the target. Same key, same wheels."""
        wheels = [[Path(w).name, sorted(extras), file_sha256(Path(w))] for w, extras in wheels_under_test]
        provided = [[p.label, str(p.directory), list(p.pins), list(p.requirements), _listing(p.directory)]
                    for p in self.provided]
        inputs = {"format": RESOLUTION_FORMAT, "platform": PIP_PLATFORM_ARGS, "markers": MARKER_ENVIRONMENT,
                  "requirements": self.asked, "optional": self.optional, "wheels": wheels,
                  "provided": provided}
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:32]

    def run(self) -> Resolution:
        known = self._remembered()
        if known is not None:
            self.log(f"Dependencies: {len(known.wheels)} wheel(s), as resolved before for the same "
                     f"wheels and requirements (no pip run; delete {self.record} to resolve again)")
            self._say_dropped(known.dropped)
            return known
        dropped: list[Dropped] = []
        while True:
            active = [r for r in self.asked if r not in {d.requirement for d in dropped}]
            try:
                packages = self._resolve(active)
            except _Unresolved as failure:
                if self._supplied(failure.parsed):
                    continue
                parsed = self._explain(failure.parsed)
                more = self._droppable(parsed, active)
                if not more:
                    raise self._error(failure.run, parsed, active) from None
                dropped += more
                self._say_dropped(more)
                continue
            break
        resolution = Resolution(tuple(p.path for p in packages), tuple(self.asked), tuple(packages),
                                tuple(dropped))
        self.log(f"Dependencies: {len(packages)} wheel(s) in {self.dest}")
        self._remember(resolution)
        return resolution

    def _supplied(self, parsed: PipFailure) -> bool:
        """Whether the stage before pip has wheels for what pip lacked (then: try again)."""
        wanted = {**parsed.conflicts, **parsed.missing}
        if self.supply is None or not wanted:
            return False
        more = self.supply(wanted)
        if more is None or tuple(more) == self.provided:
            return False
        self.provided = tuple(more)
        return True

    def _say_dropped(self, dropped: Iterable[Dropped]) -> None:
        for item in dropped:
            self.log(f"left out {item.requirement} ({item.source}): {item.reason}")

    # -- the pip passes --

    def _resolve(self, active: Sequence[str]) -> list[ResolvedWheel]:
        """The cache pass; if it fails, the index pass then the cache pass again."""
        with tempfile.TemporaryDirectory(prefix="pyodide-harness-pip-") as scratch:
            self.log("Resolving dependencies for Pyodide 314 from the wheel cache")
            offline = self._offline_requirements(active)
            if offline is not None:
                report = self._report(offline, Path(scratch))
                if isinstance(report, list):
                    self.log("Dependencies: all wheels found in the cache; no network used")
                    return report
            self.log("Resolving dependencies for Pyodide 314 with pip (network)")
            before = set(_listing(self.dest))
            run = run_pip(["download", "--dest", str(self.dest), *self._common(Path(scratch)),
                           *active, *self.specs, *self._provided_requirements()])
            self._drop_copies(before)
            if run.returncode != 0:
                raise _Unresolved(run, parse_failure(run.output))
            offline = self._offline_requirements(active)
            report = self._report(offline, Path(scratch)) if offline is not None else PipRun(
                1, "a wheel pip downloaded from a URL is not in the cache")
            if not isinstance(report, list):
                raise DependencyError(CACHE_INCONSISTENT.format(dest=self.dest, tail=_tail(report.output)))
            return report

    def _drop_copies(self, before: set[str]) -> None:
        """Remove what ``pip download`` copied into the cache from outside pip's sources.

        A stale copy of a wheel under test could later satisfy another project's
        dependency on it in the cache pass; a provider's wheel stays its provider's.
        """
        outside = [p for p in self.under_test.values() if p.parent != self.dest]
        for provider in self.provided:
            outside += [provider.directory / name for name in _listing(provider.directory)]
        for original in outside:
            copy = self.dest / original.name
            if original.name not in before and copy.is_file():
                with contextlib.suppress(OSError):
                    copy.unlink()

    def _common(self, scratch: Path) -> list[str]:
        """Target platform, providers' directories and pins."""
        args = [*PIP_PLATFORM_ARGS]
        for provider in self.provided:
            args += ["--find-links", str(provider.directory)]
        pins = [pin for provider in self.provided for pin in provider.pins]
        if pins:
            constraints = scratch / "constraints.txt"
            constraints.write_text("".join(f"{pin}\n" for pin in pins), encoding="utf-8")
            args += ["--constraint", str(constraints)]
        return args

    def _provided_requirements(self) -> list[str]:
        return [r for provider in self.provided for r in provider.requirements]

    def _offline_requirements(self, active: Sequence[str]) -> list[str] | None:
        """``active`` with remote wheel URLs pointed at their cached copies; None if one is
        not cached yet (then only the index pass can satisfy it)."""
        result = []
        for requirement in active:
            try:
                parsed = Requirement(requirement)
            except InvalidRequirement:
                result.append(requirement)
                continue
            if parsed.url is None or parsed.url.startswith("file:"):
                result.append(requirement)
                continue
            cached = self.dest / unquote(urlsplit(parsed.url).path.rsplit("/", 1)[-1])
            if not cached.is_file():
                return None
            parsed.url = cached.as_uri()
            result.append(str(parsed))
        return result

    def _report(self, active: Sequence[str], scratch: Path) -> list[ResolvedWheel] | PipRun:
        """Resolve from the cache (and providers) alone; the wheels, or the failed run."""
        report = scratch / "report.json"
        report.unlink(missing_ok=True)
        # --target: pip < 26 allows platform options with --dry-run only together with it;
        # nothing is written there in a dry run.
        run = run_pip(["install", "--dry-run", "--ignore-installed", "--target", str(scratch / "target"),
                       "--report", str(report), "--no-index", "--find-links", str(self.dest),
                       *self._common(scratch), *active, *self.specs, *self._provided_requirements()],
                      offline=True)
        if run.returncode != 0:
            return run
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DependencyError(f"pip wrote no readable installation report ({exc}):\n"
                                  f"{_tail(run.output)}") from exc
        return self._packages(data)

    def _packages(self, data: Mapping[str, Any]) -> list[ResolvedWheel]:
        """The dependency wheels of pip's installation report (format version 1)."""
        if str(data.get("version")) != "1":
            raise DependencyError(f"pip wrote an installation report of version {data.get('version')!r}; "
                                  "the harness reads version 1.\nFix: install pip 23.2 to 26.")
        packages = []
        for item in data["install"]:
            name = canonicalize_name(item["metadata"]["name"])
            info = item["download_info"]
            path = _local_path(info["url"])
            if name in self.under_test and path == self.under_test[name]:
                continue
            if path is None or path.suffix != ".whl":
                raise DependencyError(f"pip chose {info['url']} for {name}, which is not a local wheel "
                                      "file.\nFix: report this to pytest-pyodide-harness.")
            hashes = info.get("archive_info", {}).get("hashes", {})
            source = next((p.label for p in self.provided if path.parent == p.directory.resolve()),
                          INDEX if path.parent == self.dest else LOCAL)
            packages.append(ResolvedWheel(name, str(item["metadata"]["version"]), path,
                                          hashes.get("sha256"), source))
        return packages

    # -- failures --

    def _explain(self, parsed: PipFailure) -> PipFailure:
        """A conflict whose causes name projects with no Pyodide wheel at all: those are missing
        (a project a provider supplies has one, whatever the index says)."""
        if parsed.missing or not parsed.conflicts:
            return parsed
        supplied = {_requirement_name(r) for r in self._provided_requirements()}
        first: dict[str, tuple[str, tuple[str, ...]]] = {}
        for requirement, chain in parsed.conflicts.items():
            if _requirement_name(requirement) not in supplied:
                first.setdefault(_requirement_name(requirement), (requirement, chain))
        if not first:
            return parsed
        self.log(f"pip reports a conflict; asking whether {', '.join(first)} have any wheel for Pyodide 314")
        missing: dict[str, tuple[str, ...]] = {}
        for requirement, chain in first.values():
            try:
                shown = Requirement(requirement).name
            except InvalidRequirement:
                shown = requirement
            if query_index(shown).kind == "none":
                missing[shown] = chain
        return PipFailure(missing, parsed.conflicts)

    def _droppable(self, parsed: PipFailure, active: Sequence[str]) -> list[Dropped]:
        """Requirements to drop so the next attempt can succeed; [] if the failure is strict."""
        if not parsed.missing:
            return []
        strict_names = set(self.under_test) | {
            _requirement_name(r) for r in active if r not in self.optional}
        result: list[Dropped] = []
        for requirement in parsed.missing:
            root = parsed.root(requirement)
            chain = parsed.missing[requirement]
            candidates = [r for r in active if r in self.optional and _requirement_name(r) == root]
            if root in strict_names or not candidates:
                return []
            if chain:
                path = " -> ".join([root, *reversed(chain[:-1]), requirement])
                reason = f"no wheel for Pyodide 314 for {requirement} (needed through {path})"
            else:
                reason = "no wheel for Pyodide 314"
            for candidate in candidates:
                for source in self.origin[candidate]:
                    result.append(Dropped(candidate, source.name, reason))
        return result

    def _error(self, run: PipRun, parsed: PipFailure, active: Sequence[str]) -> DependencyError:
        """An error naming each missing wheel and its requirers, or pip's own words."""
        if parsed.missing:
            lines = []
            for requirement, chain in parsed.missing.items():
                root = parsed.root(requirement)
                where = sorted({s.name for r, sources in self.origin.items()
                                if _requirement_name(r) == root and r in self.asked for s in sources})
                named = f" ({', '.join(where)})" if where else ""
                if chain:
                    who = "required by " + " <- ".join(
                        f"{c} (under test)" if c in self.under_test else c for c in chain) + named
                else:
                    who = "asked for directly" + named
                lines.append(f"  {requirement}: {who}")
            return DependencyError(f"{MISSING_WHEEL}\n" + "\n".join(lines) + f"\n{MISSING_WHEEL_FIX}"
                                   f"\npip said:\n{_tail(run.output)}")
        asked = ", ".join([*active, *self.specs]) or "nothing"
        return DependencyError(
            f"{CONFLICT} (asked: {asked}); it exited with status {run.returncode}:\n{_tail(run.output)}\n"
            "Fix: follow pip's message above; version conflicts need a different requirement, "
            "network errors need the index reachable (pip's configuration and PIP_* "
            "variables apply)."
        )

    # -- remembering --

    def _remembered(self) -> Resolution | None:
        """An earlier resolution with the same key, if all its wheels are still there.

        This is what makes a warm run start no pip at all (pip's start-up and its
        cache pass cost 0.5-0.8 s).
        """
        try:
            data = json.loads(self.record.read_text(encoding="utf-8"))
            packages = tuple(ResolvedWheel(p["name"], p["version"], Path(p["path"]), p["sha256"],
                                           p["source"]) for p in data["packages"])
            dropped = tuple(Dropped(**d) for d in data["dropped"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not all(p.path.is_file() for p in packages):
            return None
        return Resolution(tuple(p.path for p in packages), tuple(self.asked), packages, dropped)

    def _remember(self, resolution: Resolution) -> None:
        packages = [{**asdict(p), "path": str(p.path)} for p in resolution.packages]
        dropped = [asdict(d) for d in resolution.dropped]
        with contextlib.suppress(OSError):  # only a cache: a read-only one costs a pip run later
            self.record.parent.mkdir(parents=True, exist_ok=True)
            partial = self.record.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps({"packages": packages, "dropped": dropped}), encoding="utf-8")
            partial.replace(self.record)


class _Unresolved(Exception):
    """The index pass failed; carries pip's run and what its text says."""

    def __init__(self, run: PipRun, parsed: PipFailure) -> None:
        super().__init__(run.output)
        self.run = run
        self.parsed = parsed


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    return Path(url2pathname(unquote(parts.path))).resolve()


def _listing(directory: Path) -> list[str]:
    """File names in a provider's directory: new files there mean a new resolution."""
    try:
        return sorted(p.name for p in directory.iterdir())
    except OSError:
        return []


def _tail(text: str, lines: int = 20) -> str:
    """The last ``lines`` meaningful lines of pip's output, indented."""
    kept = [
        line
        for line in text.splitlines()
        if line.strip() and "is ignored: it is" not in line and not line.startswith("  ━")
    ][-lines:]
    return "\n".join("    " + line.rstrip() for line in kept) if kept else "    (no output)"
