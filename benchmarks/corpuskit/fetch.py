"""Downloads for the corpus, cached in the work dir: the wheel, the sdist, an archive.

The wheel under test comes from ``pip download`` with the target's own platform
arguments (:data:`pyodide_harness.target.PIP_PLATFORM_ARGS`), so the corpus tests
the wheel a user of the harness gets: the wasm one where the project publishes
it, else the pure one. The sdist is fetched as a file through the PyPI JSON API:
``pip download --no-binary`` would build its metadata, which needs the project's
build backend. Every file is written beside its target and renamed, so a broken
download never looks cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from pyodide_harness.compat import extract_tar
from pyodide_harness.target import PIP_PLATFORM_ARGS, SUPPORTED_TAGS
from pyodide_harness.wheels import file_sha256

#: The project endpoint: this machine's PyPI proxy answers 404 for the
#: ``/pypi/NAME/VERSION/json`` form, and the project form lists every release too.
PYPI_JSON = "https://pypi.org/pypi/{name}/json"
TIMEOUT_SECONDS = 120

NO_WHEEL = ("{name} {version}: pip found no wheel Pyodide 314 installs.\n{output}\n"
            "Fix: check the version in the corpus table, or that PyPI is reachable.")
NO_SDIST = ("{name} {version}: PyPI lists no sdist ({url}).\n"
            "Fix: give the suite another source in the corpus table (suite_url) or with --source.")
BAD_HASH = ("{what}: sha256 {got} differs from the {want} PyPI lists.\n"
            "Fix: delete {path} and run again; if it repeats, the download is being altered.")
DOWNLOAD_FAILED = "{what}: download from {url} failed: {error}\nFix: check the network, or pass --source."


class FetchError(Exception):
    """A download that did not happen; the message names the file, the cause and the fix."""


def _fits_target(wheel: Path, name: str, version: str) -> bool:
    try:
        wname, wversion, _build, tags = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename:
        return False
    return (wname == canonicalize_name(name) and wversion == Version(version)
            and any(tag in SUPPORTED_TAGS for tag in tags))


def cached_wheel(name: str, version: str, dest: Path) -> Path | None:
    """The wheel of *name* *version* for Pyodide already in *dest*, wasm before pure."""
    found = sorted((w for w in dest.glob("*.whl") if _fits_target(w, name, version)),
                   key=lambda w: w.name.endswith("-any.whl"))
    return found[0] if found else None


def download_wheel(name: str, version: str, dest: Path) -> Path:
    """The wheel pip picks for Pyodide 314, downloaded once into *dest*."""
    dest.mkdir(parents=True, exist_ok=True)
    wheel = cached_wheel(name, version, dest)
    if wheel is not None:
        return wheel
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
            *PIP_PLATFORM_ARGS, "-d", str(dest), f"{name}=={version}"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS * 5)
    wheel = cached_wheel(name, version, dest)
    if proc.returncode != 0 or wheel is None:
        output = f"$ {' '.join(argv)}\n{proc.stdout}{proc.stderr}".strip()
        raise FetchError(NO_WHEEL.format(name=name, version=version, output=output))
    return wheel


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "pyodide-harness-corpus"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        data: bytes = response.read()
    return data


def _write_atomically(path: Path, data: bytes) -> None:
    fd, part = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(part, path)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


def release_files(name: str, version: str) -> list[dict[str, Any]]:
    """PyPI's file entries of one release, each ``url`` made absolute."""
    url = PYPI_JSON.format(name=name)
    try:
        project = json.loads(_get(url))
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise FetchError(DOWNLOAD_FAILED.format(what=f"{name} on PyPI", url=url, error=exc)) from exc
    files: list[dict[str, Any]] = project.get("releases", {}).get(version, [])
    return [{**f, "url": urllib.parse.urljoin(url, f["url"])} for f in files]


def download_sdist(name: str, version: str, dest: Path) -> Path:
    """The release's sdist in *dest* (one directory per release), checked against
    PyPI's sha256, which is kept beside it: a second run uses it without asking PyPI.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for known in dest.glob("*.sha256"):
        sdist = known.with_suffix("")
        if sdist.is_file() and file_sha256(sdist) == known.read_text().strip():
            return sdist
    entries = [f for f in release_files(name, version) if f.get("packagetype") == "sdist"]
    if not entries:
        raise FetchError(NO_SDIST.format(name=name, version=version, url=PYPI_JSON.format(name=name)))
    entry = entries[0]
    path = dest / str(entry["filename"])
    try:
        data = _get(entry["url"])
    except (OSError, urllib.error.URLError) as exc:
        raise FetchError(DOWNLOAD_FAILED.format(what=entry["filename"], url=entry["url"],
                                                error=exc)) from exc
    want = entry.get("digests", {}).get("sha256", "")
    got = hashlib.sha256(data).hexdigest()
    if want and got != want:
        raise FetchError(BAD_HASH.format(what=entry["filename"], got=got, want=want, path=path))
    _write_atomically(path, data)
    path.with_name(path.name + ".sha256").write_text(got + "\n")
    return path


def download_archive(url: str, dest: Path) -> Path:
    """A source archive by URL (a suite the sdist lacks), downloaded once into *dest*."""
    dest.mkdir(parents=True, exist_ok=True)
    parts = urllib.parse.urlsplit(url)
    path = dest / f"{parts.netloc}-{parts.path.strip('/').replace('/', '-')}"
    if path.is_file():
        return path
    try:
        data = _get(url)
    except (OSError, urllib.error.URLError) as exc:
        raise FetchError(DOWNLOAD_FAILED.format(what=path.name, url=url, error=exc)) from exc
    _write_atomically(path, data)
    return path


def unpack(archive: Path, into: Path) -> Path:
    """Unpack a .tar.gz or .zip sdist into a fresh *into*; the tree's top directory.

    Always a fresh copy: suites write into their own tree, and the harness must
    see the sdist as published.
    """
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(into)
    else:
        with tarfile.open(archive) as tf:
            extract_tar(tf, into)
    tops = list(into.iterdir())
    return tops[0] if len(tops) == 1 and tops[0].is_dir() else into
