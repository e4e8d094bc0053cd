"""A wheel whose Requires-Dist names packages only Pyodide's lock has, in real runtimes.

Pyodide's CDN is not reachable here, so each test makes its own lock packages
(``lockalpha``, which depends on ``lockbeta``: names no index has), adds them to
a copy of the npm distribution's ``pyodide-lock.json`` with their sha256, and
serves their files from a loopback server as the package base URL, or puts them
beside the lock as a full distribution does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from localindex import PYODIDE_TAG, served
from lockfactory import distribution_with, entry
from wheelfactory import make_wheel

from pyodide_harness.distribution import obtain_distribution
from pyodide_harness.reportdir import load_results

Run = Callable[..., pytest.RunResult]
Suite = Callable[..., Path]

SUITE = {"tests/test_lock.py": '''
    from importlib.metadata import distribution

    import lockbeta
    import lockuser


    def test_lock_packages_are_installed():
        assert lockuser.where() == "lockalpha from the lock"
        assert lockbeta.WHERE == "lockbeta from the lock"


    def test_installed_by_loadpackage_from_the_harness():
        source = distribution("lockalpha").read_text("PYODIDE_SOURCE")
        assert source.rsplit("/", 1)[-1].startswith("lockalpha-1.0-")
        assert "cdn.jsdelivr.net" not in source
'''}


@dataclass(frozen=True)
class LockSetup:
    served: Path
    """The lock packages' files, for a loopback server (the package base URL)."""
    npm_layout: Path
    """A distribution whose lock lists them, without their files (as the npm package)."""
    full: Path
    """The same with the files beside the lock (as a full release)."""
    wheel: Path
    """The wheel under test: requires lockalpha."""


@pytest.fixture
def lock_setup(tmp_path: Path, harness_cache: Path) -> LockSetup:
    npm = obtain_distribution(cache=harness_cache).path
    files = tmp_path / "served"
    # Files of their own in each test (the cache, shared by the session, keys them by hash):
    # each test fetches them itself.
    mark = f"# made for {tmp_path.name}\n"
    beta = make_wheel(files, "lockbeta", tag=PYODIDE_TAG,
                      files={"lockbeta.py": mark + "WHERE = 'lockbeta from the lock'\n"})
    alpha = make_wheel(files, "lockalpha", requires_dist=["lockbeta"],
                       files={"lockalpha.py": mark + "import lockbeta\nWHERE = 'lockalpha from the lock'\n"})
    entries = [entry(alpha, depends=["lockbeta"]), entry(beta)]
    wheel = make_wheel(tmp_path / "dist", "lockuser", requires_dist=["lockalpha>=1"],
                       files={"lockuser.py": "import lockalpha\ndef where():\n    return lockalpha.WHERE\n"})
    return LockSetup(files, distribution_with(npm, tmp_path / "npm-layout", entries),
                     distribution_with(npm, tmp_path / "full", entries, files=[alpha, beta]), wheel)


@pytest.mark.node
def test_node_from_a_base_url_then_offline_from_the_cache(lock_setup: LockSetup, suite: Suite,
                                                          run: Run) -> None:
    suite(SUITE)
    requests: list[str] = []
    with served(lock_setup.served, requests) as url:
        first = run(f"--pyodide-wheel={lock_setup.wheel}", f"--pyodide-dist={lock_setup.npm_layout}",
                    f"--pyodide-package-base-url={url}", "--pyodide-report-dir=report")
    assert first.ret == 0, first.stdout.str()[-3000:]
    first.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines([
        f"*Pyodide lock: lockalpha 1.0, lockbeta 1.0 from {url} (sha256 verified, cached)*",
        "*dependencies: *lockalpha 1.0 (lock), lockbeta 1.0 (lock)*"])
    assert sorted(requests) == sorted(f"/{p.name}" for p in lock_setup.served.iterdir())
    (node,) = load_results(Path("report")).packages[0].runtimes
    assert "lockalpha 1.0 (lock), lockbeta 1.0 (lock)" in node.environment["dependencies"]
    # The server is gone: the cached, verified files serve, with no pip run.
    second = run(f"--pyodide-wheel={lock_setup.wheel}", f"--pyodide-dist={lock_setup.npm_layout}",
                 f"--pyodide-package-base-url={url}")
    assert second.ret == 0, second.stdout.str()[-3000:]
    second.assert_outcomes(passed=2)
    second.stdout.fnmatch_lines([
        "*Pyodide lock: lockalpha 1.0, lockbeta 1.0 from the cache * (sha256 verified)*",
        "*as resolved before for the same wheels and requirements (no pip run*"])
    assert len(requests) == 2


@pytest.mark.browser
@pytest.mark.parametrize("runtime", ["chromium", "firefox"])
def test_browsers_from_a_base_url(lock_setup: LockSetup, suite: Suite, run: Run, runtime: str) -> None:
    suite(SUITE)
    with served(lock_setup.served) as url:
        result = run(f"--pyodide-wheel={lock_setup.wheel}", f"--pyodide-dist={lock_setup.npm_layout}",
                     f"--pyodide-package-base-url={url}", runtime=runtime)
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=2)


@pytest.mark.node
@pytest.mark.browser
def test_every_runtime_from_a_full_local_distribution(lock_setup: LockSetup, suite: Suite, run: Run) -> None:
    """No base URL given: Pyodide's CDN (unreachable here, and without these packages) is
    never asked, because the files sit beside the distribution's lock."""
    suite(SUITE)
    result = run(f"--pyodide-wheel={lock_setup.wheel}", f"--pyodide-dist={lock_setup.full}", runtime="all")
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines([
        f"*Pyodide lock: lockalpha 1.0, lockbeta 1.0 from --pyodide-dist {lock_setup.full}*"])


@pytest.mark.node
def test_a_tampered_file_is_refused(lock_setup: LockSetup, suite: Suite, run: Run) -> None:
    suite(SUITE)
    alpha = next(lock_setup.served.glob("lockalpha-*.whl"))
    expected = hashlib.sha256(alpha.read_bytes()).hexdigest()
    alpha.write_bytes(alpha.read_bytes() + b"\0")
    actual = hashlib.sha256(alpha.read_bytes()).hexdigest()
    with served(lock_setup.served) as url:
        result = run(f"--pyodide-wheel={lock_setup.wheel}", f"--pyodide-dist={lock_setup.npm_layout}",
                     f"--pyodide-package-base-url={url}")
    assert result.ret == 4
    output = result.stdout.str() + result.stderr.str()
    assert f"{alpha.name} from {url}{alpha.name} is not the file Pyodide 314.0.7's lock names" in output
    assert f"its sha256 is {actual}" in output and f"says {expected}" in output


@pytest.mark.node
def test_a_pypi_pure_package_requiring_a_lock_package(
        lock_setup: LockSetup, suite: Suite, run: Run, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    make_wheel(index, "purebridge", requires_dist=["lockalpha"],
               files={"purebridge.py": "import lockalpha\nWHERE = lockalpha.WHERE\n"})
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    wheel = make_wheel(tmp_path / "dist2", "bridgeuser", requires_dist=["purebridge"],
                       files={"bridgeuser.py": "import purebridge\n"})
    suite({"tests/test_bridge.py": '''
        import bridgeuser
        import lockbeta
        import purebridge

        def test_lock_package_through_a_pypi_package():
            assert purebridge.WHERE == "lockalpha from the lock"
            assert lockbeta.WHERE == "lockbeta from the lock"
    '''})
    with served(lock_setup.served) as url:
        result = run(f"--pyodide-wheel={wheel}", f"--pyodide-dist={lock_setup.npm_layout}",
                     f"--pyodide-package-base-url={url}")
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*Pyodide lock: lockalpha 1.0, lockbeta 1.0 for what the index lacks*",
                                 "*dependencies: *purebridge 1.0 (index)*"])


@pytest.mark.node
def test_an_unreachable_base_url_says_what_was_tried(lock_setup: LockSetup, suite: Suite, run: Run) -> None:
    suite(SUITE)
    with served(lock_setup.served) as url:
        pass  # nothing listens there any more
    result = run(f"--pyodide-wheel={lock_setup.wheel}", f"--pyodide-dist={lock_setup.npm_layout}",
                 f"--pyodide-package-base-url={url}")
    assert result.ret == 4
    output = result.stdout.str() + result.stderr.str()
    alpha = next(lock_setup.served.glob("lockalpha-*.whl")).name
    assert f"Could not get {alpha} (lockalpha 1.0 of Pyodide 314.0.7's lock)." in output
    assert f"GET {url}{alpha}: " in output
    assert "--pyodide-package-base-url URL" in output and "--pyodide-dist DIR" in output
