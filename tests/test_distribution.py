"""Obtaining the Pyodide distribution: a local fake npm registry, a fake npm, and one real fetch."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import socket
import sys
import tarfile
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pyodide_harness.distribution import (
    MANUAL_FETCH_HINT,
    MARKER_FILE,
    REQUIRED_FILES,
    SOURCE_CACHE,
    SOURCE_DIST_OPTION,
    SOURCE_NPM_PACK,
    SOURCE_REGISTRY,
    obtain_distribution,
)
from pyodide_harness.errors import DistributionError

VERSION = "314.0.7"
HINT = MANUAL_FETCH_HINT.format(version=VERSION)


def dist_files(version: str = VERSION) -> dict[str, bytes]:
    """Small stand-ins for the files of the npm package."""
    files = {name: f"fake {name}\n".encode() for name in REQUIRED_FILES}
    files["package.json"] = json.dumps({"name": "pyodide", "version": version}).encode()
    files["pyodide-lock.json"] = json.dumps({"info": {"python": "3.14.2"}, "packages": {}}).encode()
    return files


def make_tarball(files: Mapping[str, bytes], extra: Mapping[str, tarfile.TarInfo] | None = None) -> bytes:
    """A .tgz laid out like ``npm pack`` output (``package/<file>``)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for data_name, info in (extra or {}).items():
            payload = data_name.encode()
            if info.isfile():
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def sri(data: bytes) -> str:
    """The npm ``integrity`` string of ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@dataclass
class FakeRegistry:
    """A fake npm registry on 127.0.0.1 that counts the requests it gets."""

    url: str
    tarball: bytes = b""
    integrity: str = ""
    requests: list[str] = field(default_factory=list)
    tarball_barrier: threading.Barrier | None = None

    def serve(self, tarball: bytes, integrity: str | None = None) -> None:
        """Publish ``tarball`` as pyodide@VERSION (advertising ``integrity``)."""
        self.tarball = tarball
        self.integrity = integrity if integrity is not None else sri(tarball)


@pytest.fixture
def hidden_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH without npm, so the registry download path is taken; returns the bin dir."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, hidden_npm: Path) -> Iterator[FakeRegistry]:
    """Run the fake registry and point ``npm_config_registry`` at it."""
    state = FakeRegistry(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path == f"/pyodide/{VERSION}":
                body = json.dumps(
                    {
                        "name": "pyodide",
                        "version": VERSION,
                        "dist": {
                            "tarball": f"{state.url}/pyodide/-/pyodide-{VERSION}.tgz",
                            "integrity": state.integrity,
                        },
                    }
                ).encode()
                kind = "application/json"
            elif self.path == f"/pyodide/-/pyodide-{VERSION}.tgz":
                if state.tarball_barrier is not None:
                    state.tarball_barrier.wait()
                body, kind = state.tarball, "application/octet-stream"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("npm_config_registry", state.url)  # no trailing slash on purpose
    monkeypatch.delenv("NPM_CONFIG_REGISTRY", raising=False)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def leftovers(cache: Path) -> list[str]:
    """Temporary entries a fetch left in the cache (should be none)."""
    root = cache / "pyodide"
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".")) if root.exists() else []


# --- registry download and cache -------------------------------------------------------


def test_download_verifies_extracts_and_marks(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.serve(make_tarball(dist_files()))
    messages: list[str] = []
    dist = obtain_distribution(VERSION, cache=tmp_path / "cache", log=messages.append)
    assert dist.source == SOURCE_REGISTRY
    assert dist.version == VERSION
    assert dist.path == (tmp_path / "cache" / "pyodide" / VERSION).resolve()
    for name in REQUIRED_FILES:
        assert (dist.path / name).read_bytes() == dist_files()[name]
    marker = json.loads((dist.path / MARKER_FILE).read_text())
    assert marker["integrity"] == registry.integrity
    assert registry.requests == [f"/pyodide/{VERSION}", f"/pyodide/-/pyodide-{VERSION}.tgz"]
    assert leftovers(tmp_path / "cache") == []
    assert any("npm not found" in m for m in messages)


def test_second_call_reuses_cache_without_requests(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.serve(make_tarball(dist_files()))
    first = obtain_distribution(VERSION, cache=tmp_path / "cache")
    count = len(registry.requests)
    second = obtain_distribution(VERSION, cache=tmp_path / "cache")
    assert len(registry.requests) == count == 2
    assert second.source == SOURCE_CACHE
    assert second.path == first.path
    assert second.version == VERSION


def test_default_cache_comes_from_paths(
    registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYODIDE_HARNESS_CACHE", str(tmp_path / "env-cache"))
    registry.serve(make_tarball(dist_files()))
    dist = obtain_distribution(VERSION)
    assert dist.path == (tmp_path / "env-cache" / "pyodide" / VERSION).resolve()


def test_integrity_mismatch_is_an_error_and_stores_nothing(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.serve(make_tarball(dist_files()), integrity=sri(b"other bytes"))
    with pytest.raises(DistributionError) as excinfo:
        obtain_distribution(VERSION, cache=tmp_path / "cache")
    message = str(excinfo.value)
    assert "does not match the registry's integrity" in message
    assert f"{registry.url}/pyodide/-/pyodide-{VERSION}.tgz" in message
    assert HINT in message
    assert not (tmp_path / "cache" / "pyodide" / VERSION).exists()
    assert leftovers(tmp_path / "cache") == []


def test_integrity_without_usable_hash_is_an_error(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.serve(make_tarball(dist_files()), integrity="sha1-AAAA")
    with pytest.raises(DistributionError, match="no sha512, sha384 or sha256"):
        obtain_distribution(VERSION, cache=tmp_path / "cache")


def traversal_member() -> tarfile.TarInfo:
    return tarfile.TarInfo("package/../../evil.txt")


def symlink_member() -> tarfile.TarInfo:
    info = tarfile.TarInfo("package/link")
    info.type = tarfile.SYMTYPE
    info.linkname = "/etc/passwd"
    return info


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (traversal_member(), "leads outside the extraction directory"),
        (symlink_member(), "is a link or special file"),
    ],
    ids=["dotdot", "symlink"],
)
def test_unsafe_member_is_refused(
    registry: FakeRegistry, tmp_path: Path, member: tarfile.TarInfo, reason: str
) -> None:
    registry.serve(make_tarball(dist_files(), extra={"evil": member}))
    cache = tmp_path / "deep" / "cache"
    with pytest.raises(DistributionError) as excinfo:
        obtain_distribution(VERSION, cache=cache)
    assert member.name in str(excinfo.value)
    assert reason in str(excinfo.value)
    assert not list(tmp_path.rglob("evil.txt"))
    assert not (cache / "pyodide" / VERSION).exists()
    assert leftovers(cache) == []


def test_incomplete_package_is_an_error(registry: FakeRegistry, tmp_path: Path) -> None:
    files = dist_files()
    del files["python_stdlib.zip"]
    registry.serve(make_tarball(files))
    with pytest.raises(DistributionError, match=r"lacks python_stdlib\.zip"):
        obtain_distribution(VERSION, cache=tmp_path / "cache")
    assert not (tmp_path / "cache" / "pyodide" / VERSION).exists()


def test_unverified_leftover_in_cache_is_replaced(registry: FakeRegistry, tmp_path: Path) -> None:
    stale = tmp_path / "cache" / "pyodide" / VERSION
    stale.mkdir(parents=True)
    for name in REQUIRED_FILES:  # complete but never verified: no marker
        (stale / name).write_bytes(b"half-written")
    registry.serve(make_tarball(dist_files()))
    dist = obtain_distribution(VERSION, cache=tmp_path / "cache")
    assert dist.source == SOURCE_REGISTRY
    assert (dist.path / "pyodide.asm.wasm").read_bytes() == dist_files()["pyodide.asm.wasm"]
    assert (dist.path / MARKER_FILE).is_file()
    assert leftovers(tmp_path / "cache") == []


def test_concurrent_fetches_share_one_copy(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.serve(make_tarball(dist_files()))
    # Both runs must be past the cache check and downloading before either publishes.
    registry.tarball_barrier = threading.Barrier(2, timeout=30)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(obtain_distribution, VERSION, None, tmp_path / "cache") for _ in range(2)]
        results = [f.result(timeout=60) for f in futures]
    assert results[0].path == results[1].path
    assert sorted(r.source for r in results) == sorted([SOURCE_CACHE, SOURCE_REGISTRY])
    assert (results[0].path / MARKER_FILE).is_file()
    assert leftovers(tmp_path / "cache") == []


def test_unreachable_registry_says_what_was_tried(
    hidden_npm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{port}/")
    with pytest.raises(DistributionError) as excinfo:
        obtain_distribution(VERSION, cache=tmp_path / "cache")
    message = str(excinfo.value)
    assert f"GET http://127.0.0.1:{port}/pyodide/{VERSION}" in message
    assert f"npm pack pyodide@{VERSION} && tar xzf pyodide-{VERSION}.tgz" in message
    assert "--pyodide-dist" in message
    assert "github.com/pyodide/pyodide/releases" in message


def test_bad_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DistributionError, match="not a version number"):
        obtain_distribution("../../etc", cache=tmp_path / "cache")


# --- npm pack (a fake npm on PATH) -----------------------------------------------------

FAKE_NPM = """\
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["FAKE_NPM_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if os.environ.get("FAKE_NPM_FAIL"):
    sys.stderr.write("npm error code E404\\nnpm error 404 Not Found - pyodide@314.0.7\\n")
    sys.exit(1)
dest = args[args.index("--pack-destination") + 1]
shutil.copy(os.environ["FAKE_NPM_TARBALL"], os.path.join(dest, "pyodide-314.0.7.tgz"))
entry = {"name": "pyodide", "version": "314.0.7", "filename": "pyodide-314.0.7.tgz"}
if os.environ.get("FAKE_NPM_INTEGRITY"):
    entry["integrity"] = os.environ["FAKE_NPM_INTEGRITY"]
sys.stdout.write(json.dumps([entry], indent=2))
"""


@pytest.fixture
def fake_npm(hidden_npm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put an ``npm`` on PATH that copies a prepared tarball; returns its log file."""
    if sys.platform == "win32":
        pytest.skip("the fake npm is a POSIX script")
    script = hidden_npm / "npm"
    script.write_text(f"#!{sys.executable}\n{FAKE_NPM}")
    script.chmod(0o755)
    tarball = tmp_path / "prepared.tgz"
    tarball.write_bytes(make_tarball(dist_files()))
    log = tmp_path / "npm-log.jsonl"
    monkeypatch.setenv("FAKE_NPM_LOG", str(log))
    monkeypatch.setenv("FAKE_NPM_TARBALL", str(tarball))
    monkeypatch.setenv("FAKE_NPM_INTEGRITY", sri(tarball.read_bytes()))
    return log


def test_npm_pack_is_preferred_when_on_path(fake_npm: Path, tmp_path: Path) -> None:
    dist = obtain_distribution(VERSION, cache=tmp_path / "cache")
    assert dist.source == SOURCE_NPM_PACK
    assert (dist.path / "pyodide.asm.wasm").is_file()
    (call,) = [json.loads(line) for line in fake_npm.read_text().splitlines()]
    assert call[:3] == ["pack", f"pyodide@{VERSION}", "--json"]
    assert call[3] == "--pack-destination"


def test_npm_pack_integrity_is_checked(
    fake_npm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_INTEGRITY", sri(b"something else"))
    with pytest.raises(DistributionError, match="does not match"):
        obtain_distribution(VERSION, cache=tmp_path / "cache")


def test_npm_pack_without_integrity_asks_registry(
    fake_npm: Path, registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_INTEGRITY", "")
    prepared = (tmp_path / "prepared.tgz").read_bytes()
    registry.serve(prepared)
    dist = obtain_distribution(VERSION, cache=tmp_path / "cache")
    assert dist.source == SOURCE_NPM_PACK
    assert registry.requests == [f"/pyodide/{VERSION}"]  # metadata only, npm fetched the tarball


def test_npm_pack_failure_reports_command_and_stderr(
    fake_npm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_FAIL", "1")
    with pytest.raises(DistributionError) as excinfo:
        obtain_distribution(VERSION, cache=tmp_path / "cache")
    message = str(excinfo.value)
    assert f"npm pack pyodide@{VERSION} --json --pack-destination" in message
    assert "exited with status 1" in message
    assert "npm error 404 Not Found" in message
    assert HINT in message
    assert leftovers(tmp_path / "cache") == []


# --- --pyodide-dist --------------------------------------------------------------------


def write_dist(directory: Path, files: Mapping[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory


def test_dist_dir_used_as_is(tmp_path: Path, hidden_npm: Path) -> None:
    given = write_dist(tmp_path / "dist", dist_files())
    dist = obtain_distribution(VERSION, dist_dir=given, cache=tmp_path / "cache")
    assert dist == obtain_distribution(VERSION, dist_dir=given)
    assert (dist.path, dist.version, dist.source) == (given.resolve(), VERSION, SOURCE_DIST_OPTION)
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("sub", ["package", "pyodide"])
def test_dist_dir_subdirectory_accepted(tmp_path: Path, sub: str) -> None:
    files = dist_files()
    del files["package.json"]  # the version then comes from pyodide-lock.json
    files["pyodide-lock.json"] = json.dumps({"info": {"version": "314.0.8"}}).encode()
    write_dist(tmp_path / "unpacked" / sub, files)
    messages: list[str] = []
    dist = obtain_distribution(VERSION, dist_dir=tmp_path / "unpacked", log=messages.append)
    assert dist.path == (tmp_path / "unpacked" / sub).resolve()
    assert dist.version == "314.0.8"
    assert any("holds Pyodide 314.0.8" in m for m in messages)


def test_dist_dir_missing_files_are_listed(tmp_path: Path) -> None:
    files = dist_files()
    del files["pyodide.asm.wasm"]
    del files["python_stdlib.zip"]
    write_dist(tmp_path / "dist" / "package", files)
    (tmp_path / "dist" / "pyodide.mjs").write_text("stray")
    with pytest.raises(DistributionError) as excinfo:
        obtain_distribution(VERSION, dist_dir=tmp_path / "dist")
    message = str(excinfo.value)
    assert f"{tmp_path / 'dist' / 'package'} lacks pyodide.asm.wasm, python_stdlib.zip" in message
    assert HINT in message


def test_dist_dir_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(DistributionError, match="no such directory"):
        obtain_distribution(VERSION, dist_dir=tmp_path / "nope")


# --- the real thing --------------------------------------------------------------------


@pytest.mark.network
def test_real_npm_pack(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not on PATH")
    dist = obtain_distribution(VERSION, cache=tmp_path / "cache")
    assert dist.source == SOURCE_NPM_PACK
    assert dist.version == VERSION
    assert (dist.path / "pyodide.asm.wasm").stat().st_size > 1_000_000
    again = obtain_distribution(VERSION, cache=tmp_path / "cache")
    assert (again.source, again.path) == (SOURCE_CACHE, dist.path)
    assert os.listdir(tmp_path / "cache" / "pyodide") == [VERSION]
