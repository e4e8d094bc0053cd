"""The files of Pyodide's lock packages: where they come from, verified, cached.

The npm package ``pyodide`` (the default distribution) ships ``pyodide-lock.json``
but none of the files it names; a full release has them beside the lock. For each
lock package a run needs, the file is taken from, in order:

1. the cache, ``<cache>/pyodide-packages/<version>-<lock digest>/files/``;
2. ``--pyodide-dist DIR``: the file beside its ``pyodide-lock.json``;
3. the package base URL (``--pyodide-package-base-url``, ini
   ``pyodide_package_base_url``; default Pyodide's CDN for the version, as
   ``loadPyodide`` itself uses) joined with the lock's ``file_name``.

Every file is checked against the lock's sha256 before use, wherever it came from,
and stored in the cache only after it matched (a temporary file renamed into
place), so a later run uses it with no network. pip is given each run's lock
wheels as one directory of hard links (see :meth:`LockFiles.provide`), holding
exactly the selected files, so what pip may pick never depends on what earlier
runs happened to cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from . import paths
from .distribution import http_get, ignore
from .errors import DistributionError
from .pyodidelock import LockEntry, PyodideLock
from .resolver import ProvidedWheels
from .wheels import file_sha256

__all__ = [
    "DEFAULT_BASE_URL",
    "LOCK",
    "LOCK_FILE_MISMATCH",
    "LOCK_FILE_UNREACHABLE",
    "LockFileError",
    "LockFiles",
]

#: Where Pyodide's own ``loadPyodide`` fetches lock packages from by default.
DEFAULT_BASE_URL = "https://cdn.jsdelivr.net/pyodide/v{version}/full/"
#: The label of lock packages in a resolution, its output and results.json.
LOCK = "lock"
HTTP_TIMEOUT = 60.0

LOCK_FILE_MISMATCH = (
    "{file} from {where} is not the file Pyodide {version}'s lock names: its sha256 is "
    "{actual}, the lock ({lock}) says {expected}. It was not used.\n"
    "Fix: {fix}"
)
FIX_SERVED = (
    "point --pyodide-package-base-url (ini pyodide_package_base_url) at a mirror that serves "
    "Pyodide {version}'s own files, or pass --pyodide-dist with a full Pyodide {version} "
    "distribution."
)
FIX_DIST = (
    "put the file of the Pyodide {version} release there, or remove it so that it is "
    "fetched from the package base URL."
)
FIX_CACHE = "delete {path}; the next run fetches it again."
LOCK_FILE_UNREACHABLE = (
    "Could not get {file} ({name} {package_version} of Pyodide {version}'s lock).\n"
    "Tried:\n{tried}\n"
    "Fix: point the harness at a mirror of Pyodide's packages with "
    "--pyodide-package-base-url URL (or ini pyodide_package_base_url): a server or directory "
    "holding the files pyodide-lock.json names, as {default} does; or at a full local "
    "distribution with --pyodide-dist DIR (the release pyodide-{version}.tar.bz2 from "
    "https://github.com/pyodide/pyodide/releases, unpacked: its packages sit beside "
    "pyodide-lock.json). A file fetched once is cached and used offline afterwards."
)


class LockFileError(DistributionError):
    """A lock package's file could not be had, or is not the file the lock names."""


class LockFileUnreachable(LockFileError):
    """A lock package's file could not be fetched at all (as opposed to a wrong file)."""


LEFT_TO_INDEX = (
    "Pyodide lock: {names} left to the index: Pyodide's CDN ({url}) could not be reached "
    "({reason}), so this run tests what the index offers for them, not Pyodide's own build. "
    "To test with the lock's files, point --pyodide-package-base-url at a mirror or pass "
    "--pyodide-dist with a full distribution (then an unreachable file is an error)"
)


class LockFiles:
    """The files of one lock, for one run: fetched, verified, cached, handed to pip."""

    def __init__(
        self,
        lock: PyodideLock,
        version: str,
        *,
        dist_dir: Path | None = None,
        base_url: str | None = None,
        cache: Path | None = None,
        log: Callable[[str], None] = ignore,
    ) -> None:
        self.lock = lock
        self.version = version
        self.dist_dir = dist_dir
        self.base_url = base_url or DEFAULT_BASE_URL.format(version=version)
        # Where the user named the files' place, a file it lacks is an error; the default
        # CDN unreachable (a machine without its network) leaves those packages to pip.
        self.strict = base_url is not None or dist_dir is not None
        root = (cache if cache is not None else paths.cache_dir()) / "pyodide-packages"
        self.root = root / f"{version}-{lock.digest[:16]}"
        self.store = self.root / "files"
        self.log = log
        self._verified: set[Path] = set()
        self._origins: dict[str, str] = {}  # key -> where this run got its file

    # -- one file --

    def get(self, entry: LockEntry) -> tuple[Path, str]:
        """The verified file of ``entry`` in the cache, and where this run got it from."""
        if entry.key in self._origins:
            return self.store / entry.basename, self._origins[entry.key]
        path, where = self._get(entry)
        self._origins[entry.key] = where
        return path, where

    def _get(self, entry: LockEntry) -> tuple[Path, str]:
        stored = self.store / entry.basename
        tried: list[str] = []
        if stored.is_file():
            self._check(stored, entry, f"the cache ({stored})", FIX_CACHE.format(path=stored))
            return stored, "cache"
        tried.append(f"  the cache: no {stored}")
        if self.dist_dir is not None and "://" not in entry.file_name:
            beside = self.dist_dir / entry.file_name
            if beside.is_file():
                where = f"--pyodide-dist {self.dist_dir}"
                self._check(beside, entry, f"{where} ({beside})", FIX_DIST.format(version=self.version))
                self._store(entry, lambda out: _copy(beside, out), where)
                return stored, where
            tried.append(f"  --pyodide-dist {self.dist_dir}: no {entry.file_name} beside its "
                         "pyodide-lock.json")
        url = urllib.parse.urljoin(self.base_url, entry.file_name)
        try:
            self._store(entry, lambda out: _download(url, out), url)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(exc, urllib.error.HTTPError):
                reason = f"HTTP {exc.code} {exc.reason}"
            tried.append(f"  GET {url}: {reason}")
            raise LockFileUnreachable(LOCK_FILE_UNREACHABLE.format(
                file=entry.basename, name=entry.name, package_version=entry.version,
                version=self.version, tried="\n".join(tried),
                default=DEFAULT_BASE_URL.format(version=self.version))) from exc
        return stored, url if "://" in entry.file_name else self.base_url

    def _store(self, entry: LockEntry, write: Callable[[Path], None], where: str) -> None:
        """Write through ``write`` into a temporary file, check it, then rename it into the cache."""
        self.store.mkdir(parents=True, exist_ok=True)
        partial = self.store / f".{entry.basename}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
        try:
            write(partial)
            self._check(partial, entry, where, FIX_SERVED.format(version=self.version), shown=entry.basename)
            partial.replace(self.store / entry.basename)
        finally:
            with contextlib.suppress(OSError):
                partial.unlink()
        self._verified.add(self.store / entry.basename)

    def _check(self, path: Path, entry: LockEntry, where: str, fix: str, shown: str | None = None) -> None:
        actual = file_sha256(path)
        if actual != entry.sha256:
            raise LockFileError(LOCK_FILE_MISMATCH.format(
                file=shown or entry.basename, where=where, version=self.version, actual=actual,
                lock=self.lock.path, expected=entry.sha256, fix=fix))
        self._verified.add(path)

    # -- a run's selection --

    def unreachable(self, entries: Sequence[LockEntry]) -> list[tuple[LockEntry, str]]:
        """Entries whose file cannot be fetched from the default CDN (fetching the others
        into the cache on the way), with why; empty when the place was given (strict)."""
        lost = []
        for entry in entries:
            try:
                self.get(entry)
            except LockFileUnreachable as exc:
                if self.strict:
                    raise
                cause = exc.__cause__
                lost.append((entry, str(getattr(cause, "reason", None) or cause or exc)))
        return lost

    def provide(self, entries: Sequence[LockEntry]) -> ProvidedWheels:
        """``entries``' verified files as pip's provider: a directory holding exactly them,
        and one ``name @ file:///...`` requirement each (they are installed, as
        ``loadPackage`` installs a lock package's ``depends``, whoever else asks)."""
        origins: dict[str, list[str]] = {}
        files = []
        for entry in entries:
            path, where = self.get(entry)
            files.append((entry, path))
            origins.setdefault(where, []).append(f"{entry.name} {entry.version}")
        for where, names in origins.items():
            if where == "cache":
                self.log(f"Pyodide lock: {', '.join(names)} from the cache {self.store} (sha256 verified)")
            else:
                self.log(f"Pyodide lock: {', '.join(names)} from {where} (sha256 verified, cached)")
        directory = self._link_set(files)
        return ProvidedWheels(LOCK, directory, requirements=tuple(
            f"{entry.key} @ {(directory / path.name).as_uri()}" for entry, path in files))

    def _link_set(self, files: Iterable[tuple[LockEntry, Path]]) -> Path:
        """A directory of hard links to ``files``, named by its contents (so reused)."""
        chosen = sorted((path.name, entry.sha256) for entry, path in files)
        name = hashlib.sha256(repr(chosen).encode()).hexdigest()[:16]
        final = self.root / "sets" / name
        if all((final / file).is_file() for file, _ in chosen):
            return final.resolve()
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.parent / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        partial.mkdir()
        try:
            for file, _ in chosen:
                try:
                    os.link(self.store / file, partial / file)
                except OSError:  # a file system without hard links
                    shutil.copy2(self.store / file, partial / file)
            try:
                partial.rename(final)
            except OSError:  # another run made it meanwhile, or a partial one was left
                if not all((final / file).is_file() for file, _ in chosen):
                    shutil.rmtree(final, ignore_errors=True)
                    partial.rename(final)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return final.resolve()

    def check(self, paths_and_entries: Iterable[tuple[Path, LockEntry]]) -> None:
        """Verify the lock files a resolution names (a hard link to a file verified in this
        run is not read again)."""
        for path, entry in paths_and_entries:
            stored = self.store / entry.basename
            if path in self._verified or (stored in self._verified and _same_file(path, stored)):
                continue
            self._check(path, entry, f"the cache ({path})", FIX_CACHE.format(path=path))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _copy(source: Path, out: Path) -> None:
    shutil.copyfile(source, out)


def _download(url: str, out: Path) -> None:
    """GET ``url`` (http, https or file) into ``out``."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise ValueError(f"the package base URL is neither http(s) nor file: {url}")
    request = http_get(url, "*/*")  # any type, as no Accept header means
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response, out.open("wb") as stream:
        shutil.copyfileobj(response, stream, 1 << 20)
