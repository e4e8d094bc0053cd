"""Pyodide's lock before pip: micropip's rules, the lock's files verified and cached.

pip runs against a local find-links directory only (``localindex``); lock files are
served from a loopback server as the package base URL. The runtime side (the same
in Node, Chromium and Firefox) is in ``test_lock_runtimes.py``.
"""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from localindex import PYODIDE_TAG, PipCalls, served, use_local_index
from lockfactory import entry, write_lock
from packaging.requirements import Requirement
from wheelfactory import make_wheel

from pyodide_harness import lockfiles, lockresolve, resolver
from pyodide_harness.distribution import obtain_distribution
from pyodide_harness.errors import DependencyError, DistributionError, HarnessError
from pyodide_harness.lockfiles import LOCK, LockFileError, LockFiles
from pyodide_harness.pyodidelock import LOCK_NOT_A_WHEEL, Selection, read_lock
from pyodide_harness.requirements import RequirementSource
from pyodide_harness.resolver import Resolution
from pyodide_harness.settings import BAD_PACKAGE_BASE_URL, parse_package_base_url
from pyodide_harness.wheels import WheelInfo, check_wheel

VERSION = "314.0.7"


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip's only source; the machine's pip configuration is ignored."""
    return use_local_index(tmp_path / "index", monkeypatch)


class LockServer:
    """Lock packages built by a test, listed in a lock and served over loopback HTTP."""

    def __init__(self, root: Path) -> None:
        self.files = root / "served"
        self.files.mkdir(parents=True)
        self.lock_path = root / "lock" / "pyodide-lock.json"
        self.entries: list[dict[str, Any]] = []
        self.requests: list[str] = []

    def add(self, name: str, version: str = "1.0", requires: Sequence[str] = (),
            depends: Sequence[str] = (), tag: str = PYODIDE_TAG) -> Path:
        wheel = make_wheel(self.files, name, version, tag=tag, requires_dist=requires,
                           files={f"{name}.py": f"WHERE = 'lock {version}'\n"})
        self.entries.append(entry(wheel, depends, imports=[name]))
        write_lock(self.lock_path, self.entries)
        return wheel

    def files_for(self, url: str, cache: Path, **kwargs: Any) -> LockFiles:
        return LockFiles(read_lock(self.lock_path), VERSION, base_url=url, cache=cache, **kwargs)


@pytest.fixture
def lock(tmp_path: Path) -> LockServer:
    return LockServer(tmp_path)


@pytest.fixture
def url(lock: LockServer) -> Iterator[str]:
    with served(lock.files, lock.requests) as base:
        yield base


def dead_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def under_test(tmp_path: Path, requires: Sequence[str]) -> WheelInfo:
    return check_wheel(make_wheel(tmp_path / "dist", "mypkg", tag=PYODIDE_TAG, requires_dist=requires))


def resolve(lock: LockServer, url: str, tmp_path: Path, wheel: WheelInfo, requirements: Sequence[str] = (),
            **kwargs: Any) -> Resolution:
    """lockresolve.resolve with the lock served at ``url`` and one cache under ``tmp_path``."""
    cache = tmp_path / "cache"
    return lockresolve.resolve([wheel], requirements, files=lock.files_for(url, cache), cache=cache, **kwargs)


def sources(resolution: Resolution) -> dict[str, tuple[str, str]]:
    return {p.name: (p.version, p.source) for p in resolution.packages}


# --- the lock format ---------------------------------------------------------------------


@pytest.mark.network
def test_reads_the_npm_distributions_lock(harness_cache: Path) -> None:
    dist = obtain_distribution(VERSION, cache=harness_cache)
    lock = read_lock(dist.path / "pyodide-lock.json")
    assert len(lock.packages) == 357
    numpy = lock.packages["numpy"]
    assert numpy.is_wheel and numpy.file_name.startswith(f"numpy-{numpy.version}-cp314-cp314-")
    assert len(numpy.sha256) == 64
    assert lock.packages["pandas"].depends == ("numpy", "python-dateutil", "pytz")
    assert not lock.packages["libopenblas"].is_wheel  # a shared library, not a wheel
    assert lock.packages["markupsafe"].name == "MarkupSafe"  # keys are canonical names


@pytest.mark.parametrize(("content", "problem"), [
    ("{not json", "Expecting property name"),
    ('{"info": {}}', "no 'packages' object"),
])
def test_an_unreadable_lock_is_refused_naming_the_file(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "pyodide-lock.json"
    path.write_text(content)
    with pytest.raises(DistributionError) as excinfo:
        read_lock(path)
    assert str(path) in str(excinfo.value) and problem in str(excinfo.value)


@pytest.mark.parametrize(("item", "problem"), [
    ({"name": "x", "version": "1", "file_name": "x-1-py3-none-any.whl"}, "package 'x': no sha256"),
    ({"name": "x", "version": "1", "file_name": "x-1-py3-none-any.whl", "sha256": "abc"},
     "package 'x': sha256 'abc' is not 64 hex digits"),
])
def test_a_broken_entry_is_refused_when_a_run_needs_it(tmp_path: Path, item: dict[str, str],
                                                      problem: str) -> None:
    wheel = make_wheel(tmp_path, "y")
    path = write_lock(tmp_path / "pyodide-lock.json", [entry(wheel, depends=["x"]), item])
    lock = read_lock(path)  # other packages stay usable
    assert not Selection(lock).consider(Requirement("z"), "mypkg")
    for wanted in ("x", "y"):  # directly, or as a dependency
        with pytest.raises(DistributionError) as excinfo:
            Selection(lock).consider(Requirement(wanted), "mypkg")
        assert str(path) in str(excinfo.value) and problem in str(excinfo.value)


def test_unknown_keys_are_ignored(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "x")
    path = write_lock(tmp_path / "pyodide-lock.json", [entry(wheel, tool={"new": {}}, brand_new=1)])
    assert read_lock(path).packages["x"].version == "1.0"


# --- micropip's rules ------------------------------------------------------------------------


def test_lock_first_by_name_specifier_and_depends(lock: LockServer) -> None:
    lock.add("lockalpha", depends=["lockbeta"])
    lock.add("lockbeta", depends=["lockgamma"])
    lock.add("lockgamma")
    lock.add("lockother")
    selection = Selection(read_lock(lock.lock_path))
    assert selection.consider(Requirement("lockalpha>=1,<2"), "mypkg")
    assert [e.key for e in selection.entries()] == ["lockalpha", "lockbeta", "lockgamma"]
    assert selection.why["lockbeta"] == "lockalpha (Pyodide's lock)"
    assert not selection.consider(Requirement("lockalpha"), "other")  # already taken
    assert not selection.consider(Requirement("notinlock"), "mypkg")


def test_a_lock_version_outside_the_specifier_is_kept_with_both_versions(lock: LockServer) -> None:
    lock.add("lockalpha", version="1.0")
    selection = Selection(read_lock(lock.lock_path))
    assert not selection.consider(Requirement("lockalpha>=2"), "mypkg (under test)")
    assert not selection.chosen
    (outside,) = selection.outside.values()
    assert outside.describe(VERSION) == ("lockalpha>=2 (required by mypkg (under test)): Pyodide 314.0.7's "
                                         "lock has lockalpha 1.0, outside that specifier")


def test_pre_releases_in_the_lock_match_as_in_micropip(lock: LockServer) -> None:
    lock.add("lockalpha", version="2.0rc1")
    selection = Selection(read_lock(lock.lock_path))
    assert selection.consider(Requirement("lockalpha>=1"), "mypkg")


def test_wheels_under_test_and_urls_are_never_taken_from_the_lock(lock: LockServer) -> None:
    lock.add("lockalpha", depends=["mypkg"])
    lock.add("mypkg")
    selection = Selection(read_lock(lock.lock_path), exempt=frozenset({"mypkg"}))
    assert not selection.consider(Requirement("mypkg"), "x")
    assert not selection.consider(Requirement("lockalpha @ https://example.org/lockalpha-1.0-py3-none-any.whl"),
                                  "x")
    assert selection.consider(Requirement("lockalpha"), "x")
    assert list(selection.chosen) == ["lockalpha"]  # its dependency is the wheel under test


def test_a_shared_library_dependency_is_refused(lock: LockServer, tmp_path: Path) -> None:
    lock.add("lockalpha", depends=["libthing"])
    library = tmp_path / "libthing-1.0.zip"
    library.write_bytes(b"zip")
    lock.entries.append(entry(make_wheel(tmp_path, "libthing"), file_name=library.name,
                              package_type="shared_library", install_dir="dynlib"))
    write_lock(lock.lock_path, lock.entries)
    with pytest.raises(DependencyError) as excinfo:
        Selection(read_lock(lock.lock_path)).consider(Requirement("lockalpha"), "mypkg (under test)")
    assert str(excinfo.value) == LOCK_NOT_A_WHEEL.format(
        requirer="lockalpha (Pyodide's lock)", name="libthing", version="1.0", kind="shared library",
        file="libthing-1.0.zip")


# --- the lock's files ------------------------------------------------------------------------


def test_files_are_fetched_verified_cached_and_used_offline(lock: LockServer, tmp_path: Path) -> None:
    wheel = lock.add("lockalpha")
    cache = tmp_path / "cache"
    messages: list[str] = []
    with served(lock.files, lock.requests) as url:
        files = lock.files_for(url, cache, log=messages.append)
        provider = files.provide(list(files.lock.packages.values()))
    assert lock.requests == [f"/{wheel.name}"]
    assert any(m.startswith(f"Pyodide lock: lockalpha 1.0 from {url}") for m in messages)
    assert provider.label == LOCK
    linked = provider.directory / wheel.name
    assert linked.read_bytes() == wheel.read_bytes()
    assert provider.requirements == (f"lockalpha @ {linked.as_uri()}",)
    # The server is gone: the cache serves, verified, and nothing is requested.
    messages.clear()
    again = lock.files_for(dead_url(), cache, log=messages.append).provide(list(files.lock.packages.values()))
    assert again == provider
    assert lock.requests == [f"/{wheel.name}"]
    assert any(m.startswith("Pyodide lock: lockalpha 1.0 from the cache") for m in messages)


def test_a_tampered_file_is_refused_naming_it_both_hashes_and_its_origin(
        lock: LockServer, url: str, tmp_path: Path) -> None:
    wheel = lock.add("lockalpha")
    expected = hashlib.sha256(wheel.read_bytes()).hexdigest()
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
    files = lock.files_for(url, tmp_path / "cache")
    with pytest.raises(LockFileError) as excinfo:
        files.provide(list(files.lock.packages.values()))
    message = str(excinfo.value)
    assert excinfo.value.exit_code == 4
    assert f"{wheel.name} from {url}{wheel.name} is not the file Pyodide 314.0.7's lock names" in message
    assert f"its sha256 is {actual}, the lock ({lock.lock_path}) says {expected}" in message
    assert "--pyodide-package-base-url" in message
    assert not any(files.store.iterdir())  # nothing was kept


def test_a_tampered_cached_file_is_refused(lock: LockServer, url: str, tmp_path: Path) -> None:
    wheel = lock.add("lockalpha")
    files = lock.files_for(url, tmp_path / "cache")
    files.provide(list(files.lock.packages.values()))
    stored = files.store / wheel.name
    stored.write_bytes(b"changed in the cache")
    with pytest.raises(LockFileError) as excinfo:
        lock.files_for(url, tmp_path / "cache").provide(list(files.lock.packages.values()))
    assert f"from the cache ({stored})" in str(excinfo.value)
    assert f"Fix: delete {stored}" in str(excinfo.value)


def test_an_unreachable_base_url_says_what_was_tried_and_how_to_point_elsewhere(
        lock: LockServer, tmp_path: Path) -> None:
    wheel = lock.add("lockalpha")
    dead = dead_url()
    dist = tmp_path / "npm-layout"
    dist.mkdir()
    files = LockFiles(read_lock(lock.lock_path), VERSION, dist_dir=dist, base_url=dead, cache=tmp_path / "c")
    with pytest.raises(LockFileError) as excinfo:
        files.provide(list(files.lock.packages.values()))
    message = str(excinfo.value)
    assert message.startswith(f"Could not get {wheel.name} (lockalpha 1.0 of Pyodide 314.0.7's lock).")
    assert f"  the cache: no {files.store / wheel.name}" in message
    assert f"  --pyodide-dist {dist}: no {wheel.name} beside its pyodide-lock.json" in message
    assert f"  GET {dead}{wheel.name}: " in message
    assert "--pyodide-package-base-url URL" in message and "--pyodide-dist DIR" in message
    assert "https://cdn.jsdelivr.net/pyodide/v314.0.7/full/" in message


def test_a_full_distribution_serves_its_files_beside_the_lock(lock: LockServer, tmp_path: Path) -> None:
    wheel = lock.add("lockalpha")
    messages: list[str] = []
    files = LockFiles(read_lock(lock.lock_path), VERSION, dist_dir=lock.files, base_url=dead_url(),
                      cache=tmp_path / "c", log=messages.append)
    provider = files.provide(list(files.lock.packages.values()))
    assert (provider.directory / wheel.name).read_bytes() == wheel.read_bytes()
    said = f"Pyodide lock: lockalpha 1.0 from --pyodide-dist {lock.files} (sha256 verified, cached)"
    assert said in messages


# --- with pip ---------------------------------------------------------------------------


def test_lock_packages_their_lock_dependencies_and_their_pypi_dependencies(
        index: Path, lock: LockServer, url: str, tmp_path: Path) -> None:
    lock.add("lockalpha", requires=["lockbeta", "depb>=1"], depends=["lockbeta"])
    lock.add("lockbeta")
    make_wheel(index, "depb")
    make_wheel(index, "lockalpha", version="3.0")  # newer on the index: the lock still comes first
    resolution = resolve(lock, url, tmp_path, under_test(tmp_path, ["lockalpha"]))
    assert sources(resolution) == {"lockalpha": ("1.0", LOCK), "lockbeta": ("1.0", LOCK),
                                   "depb": ("1.0", resolver.INDEX)}


def test_a_pypi_package_requiring_a_lock_package(
        index: Path, lock: LockServer, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock.add("lockgamma", depends=["lockbeta"])
    lock.add("lockbeta")
    make_wheel(index, "purebridge", requires_dist=["lockgamma>=1"])
    messages: list[str] = []
    test = RequirementSource("requirements-test.txt", ("purebridge",))
    wheel = under_test(tmp_path, [])
    resolution = resolve(lock, url, tmp_path, wheel, sources=[test], log=messages.append)
    assert sources(resolution) == {"purebridge": ("1.0", resolver.INDEX), "lockgamma": ("1.0", LOCK),
                                   "lockbeta": ("1.0", LOCK)}
    assert "Pyodide lock: lockgamma 1.0, lockbeta 1.0 for what the index lacks" in messages
    # Warm: the same inputs with the server gone start neither pip nor a download.
    pip = PipCalls(monkeypatch)
    requests = len(lock.requests)
    warm = resolve(lock, dead_url(), tmp_path, wheel, sources=[test])
    assert warm.packages == resolution.packages
    assert pip.commands == [] and len(lock.requests) == requests


def test_a_lock_version_outside_the_specifier_is_reported_with_both(
        index: Path, lock: LockServer, url: str, tmp_path: Path) -> None:
    lock.add("lockalpha", version="1.0")
    with pytest.raises(DependencyError) as excinfo:
        resolve(lock, url, tmp_path, under_test(tmp_path, ["lockalpha>=2"]))
    message = str(excinfo.value)
    assert (f"{lockresolve.LOCK_OUTSIDE}\n  lockalpha>=2 (required by mypkg (under test)): Pyodide "
            "314.0.7's lock has lockalpha 1.0, outside that specifier") in message
    assert "lockalpha>=2: required by mypkg (under test)" in message  # pip's side: no wheel on the index


def test_an_index_package_excluding_a_taken_lock_version_is_reported_with_both(
        index: Path, lock: LockServer, url: str, tmp_path: Path) -> None:
    lock.add("lockalpha", version="1.0")
    make_wheel(index, "purebridge", requires_dist=["lockalpha>=2"])
    with pytest.raises(DependencyError) as excinfo:
        resolve(lock, url, tmp_path, under_test(tmp_path, ["lockalpha", "purebridge"]))
    assert (f"{lockresolve.LOCK_OUTSIDE}\n  lockalpha>=2 (required by purebridge): Pyodide "
            "314.0.7's lock has lockalpha 1.0, outside that specifier") in str(excinfo.value)


def test_outside_the_lock_the_index_is_asked_as_micropip_does(
        index: Path, lock: LockServer, url: str, tmp_path: Path) -> None:
    lock.add("lockalpha", version="1.0")
    make_wheel(index, "lockalpha", version="2.0")
    messages: list[str] = []
    resolution = resolve(lock, url, tmp_path, under_test(tmp_path, ["lockalpha>=2"]), log=messages.append)
    assert sources(resolution) == {"lockalpha": ("2.0", resolver.INDEX)}
    assert lock.requests == []
    assert ("lockalpha>=2 (required by mypkg (under test)): Pyodide 314.0.7's lock has lockalpha 1.0, "
            "outside that specifier; lockalpha 2.0 came from the index") in messages


def test_the_harness_pins_and_markers_are_not_taken_from_the_lock(
        index: Path, lock: LockServer, url: str, tmp_path: Path) -> None:
    lock.add("lockalpha")
    lock.add("lockbeta")
    make_wheel(index, "lockalpha")
    wheel = under_test(tmp_path, ["lockbeta; platform_machine == 'x86_64'"])
    resolution = resolve(lock, url, tmp_path, wheel, ["lockalpha==1.0"])
    assert sources(resolution) == {"lockalpha": ("1.0", resolver.INDEX)}
    assert lock.requests == []


def test_remembered_lock_files_are_verified_again(
        index: Path, lock: LockServer, url: str, tmp_path: Path) -> None:
    lock.add("lockalpha")
    wheel = under_test(tmp_path, ["lockalpha"])
    resolution = resolve(lock, url, tmp_path, wheel)
    (package,) = resolution.packages
    package.path.unlink()  # the link pip was given is replaced; the cached original stays good
    package.path.write_bytes(b"swapped")
    with pytest.raises(LockFileError, match=rf"from the cache \({re.escape(str(package.path))}\) is not"):
        resolve(lock, url, tmp_path, wheel)



# --- the option ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "url"), [
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000/"),
    ("https://mirror.example/pyodide/v314.0.7/full/", "https://mirror.example/pyodide/v314.0.7/full/"),
    ("file:///srv/pyodide", "file:///srv/pyodide/"),
])
def test_package_base_url_values(value: str, url: str) -> None:
    assert parse_package_base_url(value, "--pyodide-package-base-url") == url


def test_a_package_base_url_may_be_a_directory(tmp_path: Path) -> None:
    assert parse_package_base_url(str(tmp_path), "x") == tmp_path.resolve().as_uri() + "/"


@pytest.mark.parametrize("value", ["ftp://mirror.example/", "http://", "no/such/directory"])
def test_a_bad_package_base_url_is_a_usage_error(value: str) -> None:
    where = "ini pyodide_package_base_url"
    with pytest.raises(HarnessError) as excinfo:
        parse_package_base_url(value, where)
    assert str(excinfo.value) == BAD_PACKAGE_BASE_URL.format(value=value, where=where)
    assert excinfo.value.exit_code == 4


def test_with_the_default_cdn_unreachable_lock_packages_are_left_to_the_index(
        index: Path, lock: LockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine that cannot reach Pyodide's CDN (and was told of no mirror) still runs: what
    the index offers is used, and the run says it is not Pyodide's build and how to test
    with the lock's files. A place the user named is strict (the test above)."""
    lock.add("lockalpha", depends=["lockbeta"])
    lock.add("lockbeta")
    make_wheel(index, "lockalpha", version="2.0")  # the index's own build, without lockbeta
    monkeypatch.setattr(lockfiles, "DEFAULT_BASE_URL", dead_url() + "{version}/")
    messages: list[str] = []
    cache = tmp_path / "cache"
    files = LockFiles(read_lock(lock.lock_path), VERSION, cache=cache)  # no base URL: the default
    resolution = lockresolve.resolve([under_test(tmp_path, ["lockalpha"])], files=files,
                                     cache=cache, log=messages.append)
    assert sources(resolution) == {"lockalpha": ("2.0", resolver.INDEX)}
    (said,) = [m for m in messages if m.startswith("Pyodide lock: ")]
    assert said.startswith("Pyodide lock: lockalpha 1.0, lockbeta 1.0 left to the index: ")
    assert "--pyodide-package-base-url" in said and "not Pyodide's own build" in said
