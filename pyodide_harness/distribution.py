"""Obtain the Pyodide distribution (the npm package ``pyodide``) that the runtimes boot.

The distribution is fetched once per version into the user cache and reused with
no network afterwards. A fetch is verified against the registry's integrity hash,
extracted without trusting member paths, and published into the cache by one
atomic rename, so an interrupted or concurrent run never leaves a half-written
distribution that a later run would mistake for a good one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__, paths
from .compat import TAR_FILTER_ERRORS, extract_tar
from .errors import DistributionError
from .target import DEFAULT_VERSION as DEFAULT_PYODIDE_VERSION

#: Files a distribution must contain for the runtimes to boot Python.
REQUIRED_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
#: Written into a cached distribution only after its hash and files were checked.
MARKER_FILE = ".pyodide-harness-verified"
#: Subdirectories of ``--pyodide-dist`` that may hold the files (npm and GitHub layouts).
DIST_SUBDIRS = ("package", "pyodide")

SOURCE_CACHE = "cache"
SOURCE_NPM_PACK = "npm pack"
SOURCE_REGISTRY = "registry download"
SOURCE_DIST_OPTION = "--pyodide-dist"

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
NPM_PACK_TIMEOUT = 900.0
HTTP_TIMEOUT = 120.0
STDERR_TAIL_LINES = 15

#: How to supply the distribution by hand; ends every fetch error.
MANUAL_FETCH_HINT = (
    "To supply it by hand, run\n"
    "    npm pack pyodide@{version} && tar xzf pyodide-{version}.tgz\n"
    "and pass --pyodide-dist package/ ; or download the full release tarball "
    "pyodide-{version}.tar.bz2 from https://github.com/pyodide/pyodide/releases, "
    "unpack it and pass the directory with --pyodide-dist."
)

_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$")
# Strongest first; SRI says to use the strongest algorithm present.
_SRI_ALGORITHMS = ("sha512", "sha384", "sha256")


@dataclass(frozen=True)
class Distribution:
    """A Pyodide distribution directory ready to be served to a runtime."""

    path: Path
    """Directory containing pyodide.mjs, pyodide.asm.wasm, python_stdlib.zip, pyodide-lock.json."""
    version: str
    """From package.json, else pyodide-lock.json ``info.version``."""
    source: str
    """One of "cache", "npm pack", "registry download", "--pyodide-dist"."""


def ignore(message: str) -> None:
    """Default ``log``: say nothing."""


def obtain_distribution(
    version: str = DEFAULT_PYODIDE_VERSION,
    dist_dir: Path | None = None,
    cache: Path | None = None,
    log: Callable[[str], None] = ignore,
) -> Distribution:
    """Return a complete Pyodide ``version``: from ``dist_dir``, the cache, or npm.

    ``dist_dir`` (``--pyodide-dist``) is used as is; otherwise a verified copy in
    ``cache`` (default :func:`paths.cache_dir`) ``/pyodide/<version>`` is reused
    without any network access, and only if there is none is the package fetched.
    """
    if dist_dir is not None:
        return _use_dist_dir(Path(dist_dir), version, log)
    if not _VERSION_RE.match(version):
        raise DistributionError(
            f"Pyodide version {version!r} is not a version number.\n"
            f"Pass a release such as {DEFAULT_PYODIDE_VERSION}."
        )
    root = (cache if cache is not None else paths.cache_dir()) / "pyodide"
    target = root / version
    if _is_verified(target):
        log(f"Pyodide {version}: using the cached distribution in {target}")
        return Distribution(target.resolve(), _read_version(target) or version, SOURCE_CACHE)
    return _fetch_into_cache(version, root, target, log)


# --- --pyodide-dist ----------------------------------------------------------------


def missing_files(directory: Path) -> list[str]:
    """The :data:`REQUIRED_FILES` that ``directory`` lacks."""
    return [name for name in REQUIRED_FILES if not (directory / name).is_file()]


def _use_dist_dir(dist_dir: Path, version: str, log: Callable[[str], None]) -> Distribution:
    """Check a user-supplied distribution directory and describe it."""
    if not dist_dir.is_dir():
        raise DistributionError(
            f"--pyodide-dist {dist_dir}: no such directory.\n" + MANUAL_FETCH_HINT.format(version=version)
        )
    candidates = [dist_dir] + [dist_dir / sub for sub in DIST_SUBDIRS if (dist_dir / sub).is_dir()]
    for candidate in candidates:
        if not missing_files(candidate):
            found = _read_version(candidate)
            if found is None:
                log(f"--pyodide-dist {candidate}: no version in package.json; assuming {version}")
                found = version
            elif found != version:
                log(f"--pyodide-dist {candidate} holds Pyodide {found}, the harness expects {version}")
            log(f"Pyodide {found}: using {candidate} given by --pyodide-dist")
            return Distribution(candidate.resolve(), found, SOURCE_DIST_OPTION)
    closest = min(candidates, key=lambda c: len(missing_files(c)))
    looked = ", ".join(str(c) for c in candidates)
    raise DistributionError(
        f"--pyodide-dist {dist_dir} is not a complete Pyodide distribution: "
        f"{closest} lacks {', '.join(missing_files(closest))} (looked in {looked}).\n"
        "Pass the directory that contains "
        + ", ".join(REQUIRED_FILES)
        + " (the package/ directory of the npm tarball or the pyodide/ directory "
        "of the GitHub release).\n" + MANUAL_FETCH_HINT.format(version=version)
    )


def _read_version(directory: Path) -> str | None:
    """The Pyodide version recorded in the distribution itself, if any."""
    for name, keys in (("package.json", ("version",)), ("pyodide-lock.json", ("info", "version"))):
        try:
            value: Any = json.loads((directory / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


# --- cache --------------------------------------------------------------------------


def _is_verified(directory: Path) -> bool:
    """True when ``directory`` was published by a verified fetch and is still complete."""
    return (directory / MARKER_FILE).is_file() and not missing_files(directory)


def _fetch_into_cache(version: str, root: Path, target: Path, log: Callable[[str], None]) -> Distribution:
    """Fetch, verify and extract ``pyodide@version`` and publish it as ``target``."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".fetch-{version}-", dir=root))
    except OSError as exc:
        raise DistributionError(
            f"Cannot create the Pyodide cache directory {root}: {exc}.\n"
            "Set PYODIDE_HARNESS_CACHE to a writable directory, or pass --pyodide-dist."
        ) from exc
    try:
        npm = shutil.which("npm")
        if npm is not None:
            tarball, integrity, where, source = _npm_pack(npm, version, work, log)
        else:
            tarball, integrity, where, source = _registry_download(version, work, log)
        _check_integrity(tarball, integrity, where, version)
        staged_root = work / "extract"
        _safe_extract(tarball, staged_root, where, version)
        staged = _distribution_root(staged_root)
        missing = missing_files(staged)
        if missing:
            raise DistributionError(
                f"The pyodide@{version} package from {where} lacks {', '.join(missing)}; "
                "this version cannot be booted by the harness.\n" + MANUAL_FETCH_HINT.format(version=version)
            )
        marker = {"version": version, "integrity": integrity, "source": source, "from": where}
        (staged / MARKER_FILE).write_text(json.dumps(marker, indent=1), encoding="utf-8")
        published = _publish(staged, target, root)
        if published:
            log(f"Pyodide {version}: stored in {target}")
        else:
            log(f"Pyodide {version}: another run stored it in {target} meanwhile; using that")
            source = SOURCE_CACHE
        return Distribution(target.resolve(), _read_version(target) or version, source)
    except OSError as exc:
        raise DistributionError(
            f"Cannot store Pyodide {version} in the cache {root}: {exc}.\n"
            "Set PYODIDE_HARNESS_CACHE to a writable directory with a few hundred MB free.\n"
            + MANUAL_FETCH_HINT.format(version=version)
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _distribution_root(extracted: Path) -> Path:
    """The directory inside an extracted tarball that holds the files (``package/``)."""
    for sub in DIST_SUBDIRS:
        if (extracted / sub).is_dir():
            return extracted / sub
    entries = list(extracted.iterdir()) if extracted.is_dir() else []
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return extracted


def _publish(staged: Path, target: Path, root: Path) -> bool:
    """Rename ``staged`` to ``target``; False if a verified copy appeared there first.

    The rename is atomic, so readers see either no distribution or a complete one.
    An unverified leftover (an older crashed run) is moved aside and replaced.
    """
    for _ in range(3):
        try:
            os.rename(staged, target)
            return True
        except OSError:
            if not target.exists():
                raise
        if _is_verified(target):
            return False
        aside = root / f".stale-{target.name}-{uuid.uuid4().hex}"
        try:
            os.rename(target, aside)
        except OSError:
            if target.exists() and not _is_verified(target):
                raise
        shutil.rmtree(aside, ignore_errors=True)
    raise OSError(f"{target} kept changing while it was being replaced")


# --- fetching -------------------------------------------------------------------------


def registry_url() -> str:
    """The npm registry npm itself would use according to the environment."""
    url = (
        # npm itself sets the lower-case spelling for scripts it runs.
        os.environ.get("npm_config_registry")  # noqa: SIM112
        or os.environ.get("NPM_CONFIG_REGISTRY")
        or DEFAULT_REGISTRY
    )
    return url if url.endswith("/") else url + "/"


def _fetch_failed(version: str, tried: str) -> DistributionError:
    """The error for a fetch that did not produce a tarball."""
    return DistributionError(
        f"Could not download Pyodide {version}.\nTried: {tried}\n" + MANUAL_FETCH_HINT.format(version=version)
    )


def _tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    """The last ``lines`` non-empty lines of ``text``, indented for an error message."""
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in kept) if kept else "    (no output)"


def _npm_pack(npm: str, version: str, work: Path, log: Callable[[str], None]) -> tuple[Path, str, str, str]:
    """Run ``npm pack`` so npm's own config (registry, proxy, auth) applies."""
    spec = f"pyodide@{version}"
    command = [npm, "pack", spec, "--json", "--pack-destination", str(work)]
    shown = shlex.join(["npm", *command[1:]])
    log(f"Pyodide {version}: fetching with `{shown}`")
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=NPM_PACK_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _fetch_failed(version, f"`{shown}` could not run: {exc}") from exc
    if proc.returncode != 0:
        raise _fetch_failed(version, f"`{shown}` exited with status {proc.returncode}:\n{_tail(proc.stderr)}")
    info = _parse_npm_pack_json(proc.stdout)
    filename = info.get("filename")
    tarball: Path | None = None
    if isinstance(filename, str) and filename and Path(filename).name == filename:
        tarball = work / filename
    if tarball is None or not tarball.is_file():
        found = sorted(work.glob("*.tgz"))
        tarball = found[0] if len(found) == 1 else None
    if tarball is None:
        raise _fetch_failed(
            version,
            f"`{shown}` succeeded but left no tarball in {work}; its output:\n"
            f"{_tail(proc.stdout)}\n{_tail(proc.stderr)}",
        )
    integrity = info.get("integrity")
    if not isinstance(integrity, str) or not integrity:
        log(f"Pyodide {version}: npm pack gave no integrity; asking the registry")
        _, integrity, _ = _registry_metadata(version)
    return tarball, integrity, f"`{shown}`", SOURCE_NPM_PACK


def _parse_npm_pack_json(stdout: str) -> dict[str, Any]:
    """The first entry of ``npm pack --json`` output (tolerating noise before it)."""
    start = stdout.find("[")
    try:
        data: Any = json.loads(stdout[start:] if start >= 0 else stdout)
    except ValueError:
        return {}
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0]
    return data if isinstance(data, dict) else {}


def http_get(url: str, accept: str) -> urllib.request.Request:
    """A request with headers that registries and proxies expect."""
    return urllib.request.Request(
        url, headers={"Accept": accept, "User-Agent": f"pytest-pyodide-harness/{__version__}"}
    )


def _registry_metadata(version: str) -> tuple[str, str, str]:
    """``(tarball URL, integrity, metadata URL)`` of ``pyodide@version`` from the registry."""
    meta_url = f"{registry_url()}pyodide/{urllib.parse.quote(version)}"
    try:
        with urllib.request.urlopen(
            http_get(meta_url, "application/json"), timeout=HTTP_TIMEOUT
        ) as response:
            meta: Any = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise _fetch_failed(version, f"GET {meta_url} answered HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _fetch_failed(version, f"GET {meta_url} failed: {reason}") from exc
    except ValueError as exc:
        raise _fetch_failed(version, f"GET {meta_url} did not return JSON: {exc}") from exc
    dist = meta.get("dist") if isinstance(meta, dict) else None
    tarball = dist.get("tarball") if isinstance(dist, dict) else None
    integrity = dist.get("integrity") if isinstance(dist, dict) else None
    if not isinstance(tarball, str) or not isinstance(integrity, str) or not integrity:
        raise _fetch_failed(
            version, f"GET {meta_url} returned metadata without dist.tarball and dist.integrity"
        )
    return tarball, integrity, meta_url


def _registry_download(version: str, work: Path, log: Callable[[str], None]) -> tuple[Path, str, str, str]:
    """Download the tarball the registry metadata points to (used when npm is absent)."""
    log(f"Pyodide {version}: npm not found on PATH; downloading from {registry_url()}")
    tarball_url, integrity, meta_url = _registry_metadata(version)
    tried = f"GET {meta_url}, then GET {tarball_url}"
    if urllib.parse.urlsplit(tarball_url).scheme not in ("http", "https"):
        raise _fetch_failed(version, f"{tried}: the tarball URL is not http(s)")
    destination = work / f"pyodide-{version}.tgz"
    try:
        with (
            urllib.request.urlopen(
                http_get(tarball_url, "application/octet-stream"), timeout=HTTP_TIMEOUT
            ) as response,
            destination.open("wb") as out,
        ):
            shutil.copyfileobj(response, out, 1 << 20)
    except urllib.error.HTTPError as exc:
        raise _fetch_failed(version, f"{tried}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _fetch_failed(version, f"{tried}: {reason}") from exc
    return destination, integrity, tarball_url, SOURCE_REGISTRY


# --- verification and extraction --------------------------------------------------------


def _check_integrity(tarball: Path, integrity: str, where: str, version: str) -> None:
    """Compare ``tarball`` with the registry's SRI string (``sha512-<base64>``)."""
    hashes: dict[str, list[str]] = {}
    for entry in integrity.split():
        name, _, digest = entry.partition("-")
        if name in _SRI_ALGORITHMS and digest:
            hashes.setdefault(name, []).append(digest.split("?", 1)[0])
    algorithm = next((a for a in _SRI_ALGORITHMS if a in hashes), None)
    if algorithm is None:
        raise DistributionError(
            f"The integrity {integrity!r} for pyodide@{version} from {where} has no "
            "sha512, sha384 or sha256 hash, so the download cannot be verified.\n"
            + MANUAL_FETCH_HINT.format(version=version)
        )
    hasher = hashlib.new(algorithm)
    with tarball.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            hasher.update(block)
    actual = base64.b64encode(hasher.digest()).decode("ascii")
    if actual not in hashes[algorithm]:
        raise DistributionError(
            f"The pyodide@{version} tarball from {where} does not match the registry's "
            f"integrity: expected {algorithm}-{hashes[algorithm][0]}, got {algorithm}-{actual}. "
            "The download was corrupted or altered (a proxy or mirror serving other bytes); "
            "nothing was stored.\n" + MANUAL_FETCH_HINT.format(version=version)
        )


def _unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Why ``member`` must not be extracted, or None if it is a plain file or directory."""
    parts = re.split(r"[/\\]", member.name)
    if member.name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member.name):
        return "has an absolute path"
    if ".." in parts:
        return "leads outside the extraction directory"
    if not (member.isfile() or member.isdir()):
        return "is a link or special file (npm tarballs hold only files and directories)"
    return None


def _safe_extract(tarball: Path, destination: Path, where: str, version: str) -> None:
    """Extract only plain files and directories that stay inside ``destination``."""
    try:
        with tarfile.open(tarball, "r:*") as archive:
            members = archive.getmembers()
            for member in members:
                reason = _unsafe_reason(member)
                if reason is not None:
                    raise DistributionError(
                        f"Refusing to extract the pyodide@{version} tarball from {where}: "
                        f"member {member.name!r} {reason}. Nothing was stored.\n"
                        + MANUAL_FETCH_HINT.format(version=version)
                    )
            destination.mkdir(parents=True, exist_ok=True)
            extract_tar(archive, destination, members)
    except TAR_FILTER_ERRORS as exc:  # (tarfile.FilterError: an attribute only since PEP 706)
        raise DistributionError(
            f"Refusing to extract the pyodide@{version} tarball from {where}: {exc}.\n"
            + MANUAL_FETCH_HINT.format(version=version)
        ) from exc
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise DistributionError(
            f"The pyodide@{version} tarball from {where} is not a readable .tgz: {exc}.\n"
            + MANUAL_FETCH_HINT.format(version=version)
        ) from exc
