"""Resolving dependencies for Pyodide with pip against local wheels only."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from localindex import PYODIDE_TAG, PipCalls, served, use_local_index
from wheelfactory import make_wheel

from pyodide_harness import piprun, resolver, target
from pyodide_harness.errors import DependencyError
from pyodide_harness.requirements import RequirementSource
from pyodide_harness.resolver import Dropped, ProvidedWheels, Resolution, resolve


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A find-links directory that is pip's only source; the machine's config is ignored."""
    return use_local_index(tmp_path / "index", monkeypatch)


def names(resolution: Resolution) -> list[str]:
    """Project names of the resolved wheels, sorted."""
    return sorted(path.name.split("-")[0] for path in resolution.wheels)


def project_under_test(tmp_path: Path, requires: Sequence[str], extras: Sequence[str] = ()) -> Path:
    """The wheel under test, built for Pyodide, outside the index."""
    return make_wheel(
        tmp_path / "dist", "mypkg", tag=PYODIDE_TAG, requires_dist=requires, provides_extra=extras
    )


# --- resolving -------------------------------------------------------------------------


def test_transitive_markers_are_evaluated_for_pyodide(index: Path, tmp_path: Path) -> None:
    # Plain `pip download --platform ...` gets this wrong on a Linux host: it takes depc
    # (x86_64 only) and skips depb (emscripten only).
    make_wheel(
        index,
        "depa",
        requires_dist=['depb; sys_platform == "emscripten"', 'depc; platform_machine == "x86_64"'],
    )
    make_wheel(index, "depb")
    make_wheel(index, "depc")
    wheel = project_under_test(tmp_path, ["depa"])
    cache = tmp_path / "cache"
    resolution = resolve([(wheel, ())], [], cache=cache)
    assert names(resolution) == ["depa", "depb"]
    assert all(path.parent == (cache / "wheels").resolve() for path in resolution.wheels)
    assert all(path.is_file() for path in resolution.wheels)
    assert resolution.requirements == ()
    assert not list((cache / "wheels").glob("mypkg-*"))  # no copy of the wheel under test


def test_packages_come_from_pips_report(index: Path, tmp_path: Path) -> None:
    import hashlib

    make_wheel(index, "depa", version="2.5", requires_dist=["depb"])
    make_wheel(index, "depb", version="0.3", tag=PYODIDE_TAG)
    resolution = resolve([], ["depa"], cache=tmp_path / "cache")
    packages = {p.name: p for p in resolution.packages}
    assert sorted(packages) == ["depa", "depb"]
    assert [p.path for p in resolution.packages] == list(resolution.wheels)
    assert packages["depa"].version == "2.5"
    assert packages["depb"].version == "0.3"
    assert packages["depb"].path.name == f"depb-0.3-{PYODIDE_TAG}.whl"
    assert packages["depb"].sha256 == hashlib.sha256(packages["depb"].path.read_bytes()).hexdigest()
    assert {p.source for p in resolution.packages} == {resolver.INDEX}


def test_extras_of_wheel_under_test(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depd")
    make_wheel(index, "depe")
    wheel = project_under_test(tmp_path, ['depd; extra == "test"', "depe"], extras=["test"])
    assert names(resolve([(wheel, ("test",))], [], cache=tmp_path / "c1")) == ["depd", "depe"]
    assert names(resolve([(wheel, ())], [], cache=tmp_path / "c2")) == ["depe"]


def test_top_level_requirements_and_their_markers(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depb")
    make_wheel(index, "depc")
    requirements = ["depb", "depc; sys_platform == 'linux'"]
    resolution = resolve([], requirements, cache=tmp_path / "cache")
    assert names(resolution) == ["depb"]
    assert resolution.requirements == tuple(requirements)


def test_platform_wheels_are_chosen_by_pyodide_tags(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "native", version="1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    make_wheel(index, "native", version="0.9", tag="cp314-cp314-pyemscripten_2026_0_wasm32")
    (path,) = resolve([], ["native"], cache=tmp_path / "cache").wheels
    assert path.name == "native-0.9-cp314-cp314-pyemscripten_2026_0_wasm32.whl"


def test_missing_dependency_names_it_and_requirer(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depa", requires_dist=["depz>=1.0"])
    make_wheel(index, "depz", version="2.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    wheel = project_under_test(tmp_path, ["depa"])
    with pytest.raises(DependencyError) as excinfo:
        resolve([(wheel, ())], [], cache=tmp_path / "cache")
    message = str(excinfo.value)
    assert "depz>=1.0: required by depa <- mypkg (under test)" in message
    assert resolver.MISSING_WHEEL_FIX in message


def test_missing_deep_dependency_names_the_whole_chain(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "top", requires_dist=["middle"])
    make_wheel(index, "middle", requires_dist=["depz"])
    source = RequirementSource("requirements-test.txt", ("top",))
    with pytest.raises(DependencyError) as excinfo:
        resolve([], [], sources=[source], cache=tmp_path / "cache")
    assert "depz: required by middle <- top (requirements-test.txt)" in str(excinfo.value)


def test_missing_direct_requirement(index: Path, tmp_path: Path) -> None:
    with pytest.raises(DependencyError) as excinfo:
        resolve([], ["nothere"], cache=tmp_path / "cache")
    assert "nothere: asked for directly" in str(excinfo.value)


def test_missing_requirement_names_its_source(index: Path, tmp_path: Path) -> None:
    source = RequirementSource("pyproject.toml [dependency-groups] test", ("nothere>=2",))
    with pytest.raises(DependencyError) as excinfo:
        resolve([], [], sources=[source], cache=tmp_path / "cache")
    message = str(excinfo.value)
    assert message.startswith(resolver.MISSING_WHEEL)
    assert "nothere>=2: asked for directly (pyproject.toml [dependency-groups] test)" in message


def test_conflict_reports_pip_output(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depa", requires_dist=["depb==1.0"])
    make_wheel(index, "depb", version="1.0")
    make_wheel(index, "depb", version="2.0")
    with pytest.raises(DependencyError) as excinfo:
        resolve([], ["depa", "depb==2.0"], cache=tmp_path / "cache")
    message = str(excinfo.value)
    assert resolver.CONFLICT in message
    assert "conflicting dependencies" in message


def test_wheel_under_test_for_another_platform(index: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist", "mypkg", tag="cp311-cp311-manylinux_2_17_x86_64")
    with pytest.raises(DependencyError, match="is not a supported wheel on this platform"):
        resolve([(wheel, ())], [], cache=tmp_path / "cache")


def every_version_needs_a_missing_wheel(index: Path) -> None:
    """top -> depa 1.0 / 2.0 -> depz, which has no wheel: pip calls this a conflict."""
    make_wheel(index, "top", requires_dist=["depa"])
    make_wheel(index, "depa", version="1.0", requires_dist=["depz>=1.0"])
    make_wheel(index, "depa", version="2.0", requires_dist=["depz>=2.0"])
    make_wheel(index, "depz", version="2.0", tag="cp311-cp311-manylinux_2_17_x86_64")


def test_conflict_that_is_a_missing_wheel_names_it(index: Path, tmp_path: Path) -> None:
    every_version_needs_a_missing_wheel(index)
    source = RequirementSource("requirements-test.txt", ("top",))
    messages: list[str] = []
    with pytest.raises(DependencyError) as excinfo:
        resolve([], [], sources=[source], cache=tmp_path / "cache", log=messages.append)
    message = str(excinfo.value)
    assert message.startswith(resolver.MISSING_WHEEL)
    assert "  depz: required by depa <- top (requirements-test.txt)" in message
    assert "pip reports a conflict; asking whether depz have any wheel for Pyodide 314" in messages


# --- development files: entries without a Pyodide wheel are dropped -----------------------


def test_dev_entry_whose_dependency_has_no_wheel_in_any_version(index: Path, tmp_path: Path) -> None:
    every_version_needs_a_missing_wheel(index)
    make_wheel(index, "depb")
    dev = RequirementSource("requirements-dev.txt", ("top", "depb"), strict=False)
    resolution = resolve([], [], sources=[dev], cache=tmp_path / "cache")
    assert names(resolution) == ["depb"]
    (dropped,) = resolution.dropped
    assert dropped == Dropped("top", "requirements-dev.txt",
                              "no wheel for Pyodide 314 for depz (needed through top -> depa -> depz)")


def test_dev_source_entries_without_wheel_are_dropped(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depb")
    make_wheel(index, "native", tag="cp311-cp311-manylinux_2_17_x86_64")
    make_wheel(index, "docs", requires_dist=["theme"])
    make_wheel(index, "theme", requires_dist=["native>=1"])
    dev = RequirementSource("requirements-dev.txt", ("depb", "native", "docs>=1"), strict=False)
    messages: list[str] = []
    resolution = resolve([], [], sources=[dev], cache=tmp_path / "cache", log=messages.append)
    assert names(resolution) == ["depb"]
    assert {d.requirement for d in resolution.dropped} == {"native", "docs>=1"}
    assert all(d.source == "requirements-dev.txt" for d in resolution.dropped)
    reasons = {d.requirement: d.reason for d in resolution.dropped}
    assert reasons["native"] == "no wheel for Pyodide 314"
    assert "native>=1 (needed through docs -> theme -> native>=1)" in reasons["docs>=1"]
    assert any(m.startswith("left out native (requirements-dev.txt): no wheel") for m in messages)
    assert any(m.startswith("left out docs>=1 (requirements-dev.txt)") for m in messages)


def test_dropped_entries_are_said_again_without_pip(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(index, "depb")
    dev = RequirementSource("requirements-dev.txt", ("depb", "nothere"), strict=False)
    first = resolve([], [], sources=[dev], cache=tmp_path / "cache")
    calls = PipCalls(monkeypatch)
    messages: list[str] = []
    again = resolve([], [], sources=[dev], cache=tmp_path / "cache", log=messages.append)
    assert calls.commands == []
    assert again == first
    assert again.dropped == (Dropped("nothere", "requirements-dev.txt", "no wheel for Pyodide 314"),)
    assert "left out nothere (requirements-dev.txt): no wheel for Pyodide 314" in messages


def test_strict_sources_are_not_dropped(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depb")
    test = RequirementSource("requirements-test.txt", ("depb", "nothere"))
    with pytest.raises(DependencyError, match=r"nothere: asked for directly \(requirements-test\.txt\)"):
        resolve([], [], sources=[test], cache=tmp_path / "cache")


def test_dev_entry_also_asked_strictly_is_not_dropped(index: Path, tmp_path: Path) -> None:
    dev = RequirementSource("requirements-dev.txt", ("nothere",), strict=False)
    test = RequirementSource("requirements-test.txt", ("nothere",))
    with pytest.raises(DependencyError, match="nothere: asked for directly"):
        resolve([], [], sources=[dev, test], cache=tmp_path / "cache")
    with pytest.raises(DependencyError, match="nothere: asked for directly"):
        resolve([], ["nothere"], sources=[dev], cache=tmp_path / "cache")


def test_dev_entry_needed_by_wheel_under_test_is_not_dropped(index: Path, tmp_path: Path) -> None:
    wheel = project_under_test(tmp_path, ["nothere"])
    dev = RequirementSource("requirements-dev.txt", ("nothere",), strict=False)
    with pytest.raises(DependencyError, match="nothere: required by mypkg"):
        resolve([(wheel, ())], [], sources=[dev], cache=tmp_path / "cache")


# --- the cache and remembered resolutions -------------------------------------------------


def test_second_resolve_works_offline_from_cache(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depa", requires_dist=['depb; sys_platform == "emscripten"'])
    make_wheel(index, "depb")
    wheel = project_under_test(tmp_path, ["depa"])
    first = resolve([(wheel, ())], ["depb"], cache=tmp_path / "cache")
    for path in index.iterdir():
        path.unlink()
    messages: list[str] = []
    # Other requirements than the first time: a new resolution, from the cache alone.
    second = resolve([(wheel, ())], [], cache=tmp_path / "cache", log=messages.append)
    assert sorted(second.wheels) == sorted(first.wheels)
    assert names(second) == ["depa", "depb"]
    assert any("no network used" in m for m in messages)


def test_same_inputs_reuse_the_resolution_without_pip(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(index, "depa", requires_dist=["depb"])
    make_wheel(index, "depb")
    wheel = project_under_test(tmp_path, ["depa"])
    first = resolve([(wheel, ())], [], cache=tmp_path / "cache")
    calls = PipCalls(monkeypatch)
    messages: list[str] = []
    again = resolve([(wheel, ())], [], cache=tmp_path / "cache", log=messages.append)
    assert again.wheels == first.wheels
    assert again.packages == first.packages
    assert calls.commands == []
    assert any("as resolved before" in m for m in messages)
    # A wheel of that resolution gone from the cache: pip runs again.
    next(w for w in first.wheels if "depb" in w.name).unlink()
    resolve([(wheel, ())], [], cache=tmp_path / "cache")
    assert calls.commands
    resolve([(wheel, ())], [], cache=tmp_path / "cache")
    runs = len(calls.commands)  # remembered again
    # Other contents under the same file name (a rebuilt wheel): a new key, pip runs.
    rebuilt = project_under_test(tmp_path, ["depb"])
    assert rebuilt == wheel
    resolve([(rebuilt, ())], [], cache=tmp_path / "cache")
    assert len(calls.commands) > runs


def test_cold_resolution_downloads_then_reads_the_report_from_the_cache(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(index, "depb")
    calls = PipCalls(monkeypatch)
    resolve([], ["depb"], cache=tmp_path / "cache")
    # cache pass (fails: empty cache), index pass, cache pass again for the report
    assert calls.commands == ["install", "download", "install"]


def test_second_resolve_makes_no_request(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(index, "depb")
    requests: list[str] = []
    with served(index, requests) as url:
        monkeypatch.setenv("PIP_FIND_LINKS", url)
        first = resolve([], ["depb"], cache=tmp_path / "cache")
        assert requests
        requests.clear()
        assert resolve([], ["depb"], cache=tmp_path / "cache") == first
        assert requests == []


def test_remote_wheel_url_is_resolved_offline_once_cached(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    make_wheel(elsewhere, "remote", requires_dist=["depb"])
    make_wheel(index, "depb")
    requests: list[str] = []
    with served(elsewhere, requests) as url:
        requirement = f"remote @ {url}remote-1.0-py3-none-any.whl"
        first = resolve([], [requirement], cache=tmp_path / "cache")
        assert names(first) == ["depb", "remote"]
        assert all(p.parent == (tmp_path / "cache" / "wheels").resolve() for p in first.wheels)
    requests.clear()
    # The server is gone: a new resolution with the same URL comes from the cache.
    messages: list[str] = []
    second = resolve([], [requirement, "depb"], cache=tmp_path / "cache", log=messages.append)
    assert sorted(second.wheels) == sorted(first.wheels)
    assert any("no network used" in m for m in messages)


def test_offline_pass_ignores_wheels_not_needed(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depa")
    make_wheel(index, "depb")
    resolve([], ["depa", "depb"], cache=tmp_path / "cache")
    assert names(resolve([], ["depb"], cache=tmp_path / "cache")) == ["depb"]


def test_nothing_to_resolve(tmp_path: Path) -> None:
    assert resolve([], [], cache=tmp_path / "cache") == Resolution((), ())


def test_option_as_requirement_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match="looks like a pip option"):
        resolve([], ["-e ."], cache=tmp_path / "cache")


# --- wheels provided by a stage before pip (the seam for Pyodide's lock) ------------------


def test_provided_wheels_are_pinned_and_labelled(index: Path, tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    make_wheel(lock, "lockonly", version="1.0", requires_dist=["depb"])
    make_wheel(index, "lockonly", version="2.0")  # newer on the index: the pin wins
    make_wheel(index, "depb")
    provided = [ProvidedWheels("lock", lock, ("lockonly==1.0",))]
    wheel = project_under_test(tmp_path, ["lockonly"])
    resolution = resolve([(wheel, ())], [], provided=provided, cache=tmp_path / "cache")
    packages = {p.name: p for p in resolution.packages}
    assert packages["lockonly"].version == "1.0"
    assert packages["lockonly"].source == "lock"
    assert packages["lockonly"].path == (lock / "lockonly-1.0-py3-none-any.whl").resolve()
    assert packages["depb"].source == resolver.INDEX


def test_provided_pin_outside_a_specifier_is_a_conflict(index: Path, tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    make_wheel(lock, "lockonly", version="1.0")
    provided = [ProvidedWheels("lock", lock, ("lockonly==1.0",))]
    with pytest.raises(DependencyError) as excinfo:
        resolve([], ["lockonly>=2"], provided=provided, cache=tmp_path / "cache")
    assert "lockonly" in str(excinfo.value)


# --- pip itself ------------------------------------------------------------------------


def test_interpreter_without_pip(index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    monkeypatch.setattr(sys, "executable", str(python))
    with pytest.raises(DependencyError, match=r"(?s)pip is not installed in .*ensurepip"):
        resolve([], ["depb"], cache=tmp_path / "cache")


def test_pip_older_than_the_report_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python3*/site-packages")
    stub = {
        "pip/__init__.py": '__version__ = "22.1.2"\n',
        "pip/_vendor/__init__.py": "",
        "pip/_vendor/packaging/__init__.py": "",
        "pip/_vendor/packaging/markers.py": "",
        "pip/_internal/__init__.py": "",
        "pip/_internal/cli/__init__.py": "",
        "pip/_internal/cli/main.py": "def main(args):\n    raise SystemExit('must not run')\n",
    }
    for relative, text in stub.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
    monkeypatch.setattr(sys, "executable", str(venv / "bin" / "python"))
    with pytest.raises(DependencyError, match=r"(?s)pip 22\.1\.2 in .* is too old.*pip install -U pip"):
        resolve([], ["depb"], cache=tmp_path / "cache")


def test_pip_download_alone_gets_markers_wrong(index: Path, tmp_path: Path) -> None:
    """Why the launcher exists: the same download without it takes the host's markers."""
    make_wheel(index, "depa", requires_dist=['depb; sys_platform == "emscripten"'])
    make_wheel(index, "depb")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--dest", str(tmp_path / "plain"),
         *target.PIP_PLATFORM_ARGS, "depa"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "plain").iterdir()) == ["depa"]


def test_report_environment_is_pyodides(index: Path, tmp_path: Path) -> None:
    """pip's report records the marker environment it resolved for: Pyodide's, by the launcher."""
    make_wheel(index, "depb")
    report = tmp_path / "report.json"
    run = piprun.run_pip(["install", "--dry-run", "--ignore-installed", "--target", str(tmp_path / "t"),
                          "--report", str(report), *target.PIP_PLATFORM_ARGS, "depb"])
    assert run.returncode == 0, run.output
    environment = json.loads(report.read_text())["environment"]
    assert environment["sys_platform"] == "emscripten"
    assert environment["python_full_version"] == target.PYTHON_VERSION


# --- reading pip's failure text ---------------------------------------------------------

# Recorded from pip 23.2.1 and pip 26.3 resolving mypkg -> top -> depa -> depz (no wheel)
# against a find-links directory.
PIP_23_FAILURE = """\
Looking in links: idx2
Processing ./dist2/mypkg-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl
Processing ./idx2/top-1.0-py3-none-any.whl (from mypkg@ file:///tmp/dist2/mypkg-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl)
Processing ./idx2/depa-1.0-py3-none-any.whl (from top->mypkg@ file:///tmp/dist2/mypkg-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl)
INFO: pip is looking at multiple versions of depa to determine which version is compatible with other requirements. This could take a while.
ERROR: Could not find a version that satisfies the requirement depz>=1.0 (from depa) (from versions: none)
ERROR: No matching distribution found for depz>=1.0
"""  # noqa: E501
PIP_26_FAILURE = """\
Looking in links: idx2
Processing ./dist2/mypkg-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl
Processing ./idx2/top-1.0-py3-none-any.whl (from mypkg @ file:///tmp/dist2/mypkg-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl)
Processing ./idx2/depa-1.0-py3-none-any.whl (from top->mypkg @ file:///tmp/dist2/mypkg-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl)
INFO: pip is looking at multiple versions of depa to determine which version is compatible with other requirements. This could take a while.
ERROR: Could not find a version that satisfies the requirement depz>=1.0 (from depa) (from versions: none)
ERROR: No matching distribution found for depz>=1.0 (from depa)
"""  # noqa: E501
INDEX_FAILURE = """\
Collecting sphinx
  Downloading sphinx-8.2.3-py3-none-any.whl (3.6 MB)
Collecting jinja2>=3.1 (from sphinx)
  Downloading jinja2-3.1.6-py3-none-any.whl (134 kB)
ERROR: Could not find a version that satisfies the requirement MarkupSafe>=2.0 (from jinja2) (from versions: none)
ERROR: No matching distribution found for MarkupSafe>=2.0
"""  # noqa: E501


@pytest.mark.parametrize("output", [PIP_23_FAILURE, PIP_26_FAILURE], ids=["pip23", "pip26"])
def test_parse_failure_finds_the_requirer_chain(output: str) -> None:
    failure = resolver.parse_failure(output)
    assert failure.missing == {"depz>=1.0": ("depa", "top", "mypkg")}
    assert failure.root("depz>=1.0") == "mypkg"


def test_parse_failure_follows_collecting_lines() -> None:
    failure = resolver.parse_failure(INDEX_FAILURE)
    assert failure.missing == {"MarkupSafe>=2.0": ("jinja2", "sphinx")}
    assert failure.root("MarkupSafe>=2.0") == "sphinx"


def test_parse_failure_of_a_direct_requirement() -> None:
    output = ("ERROR: Could not find a version that satisfies the requirement nothere "
              "(from versions: none)\nERROR: No matching distribution found for nothere\n")
    failure = resolver.parse_failure(output)
    assert failure.missing == {"nothere": ()}
    assert failure.root("nothere") == "nothere"


# pip 23.2.1, top -> depa (1.0 and 2.0, each needing a depz that has no wheel at all).
CONFLICT_FAILURE = """\
Looking in links: /tmp/t1/idx
Processing ./idx/top-1.0-py3-none-any.whl
Processing ./idx/depa-2.0-py3-none-any.whl (from top)
INFO: pip is looking at multiple versions of depa to determine which version is compatible with other requirements. This could take a while.
Processing ./idx/depa-1.0-py3-none-any.whl (from top)
ERROR: Cannot install top because these package versions have conflicting dependencies.

The conflict is caused by:
    depa 2.0 depends on depz>=2.0
    depa 1.0 depends on depz>=1.0

To fix this you could try to:
1. loosen the range of package versions you've specified
2. remove package versions to allow pip attempt to solve the dependency conflict

ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts
"""  # noqa: E501


def test_parse_failure_reads_the_causes_of_a_conflict() -> None:
    failure = resolver.parse_failure(CONFLICT_FAILURE)
    assert failure.missing == {}
    assert failure.conflicts == {"depz>=2.0": ("depa", "top"), "depz>=1.0": ("depa", "top")}


def test_parse_failure_of_a_conflict_finds_nothing_missing() -> None:
    output = ("ERROR: Cannot install depa and depb==2.0 because these package versions have "
              "conflicting dependencies.\nERROR: ResolutionImpossible: for help visit ...\n")
    assert resolver.parse_failure(output).missing == {}


def test_platform_args_and_marker_env_describe_pyodide_314() -> None:
    assert target.MARKER_ENVIRONMENT["sys_platform"] == "emscripten"
    assert target.MARKER_ENVIRONMENT["python_full_version"] == "3.14.2"
    args = target.PIP_PLATFORM_ARGS
    assert args[0] == "--only-binary=:all:"
    platforms = [args[i + 1] for i, arg in enumerate(args) if arg == "--platform"]
    assert platforms == ["pyemscripten_2026_0_wasm32", "pyodide_2026_0_wasm32", "any"]


def test_local_wheel_named_by_path_is_used_in_place(index: Path, tmp_path: Path) -> None:
    local = make_wheel(tmp_path / "wheels", "localdep", requires_dist=["depb"])
    make_wheel(index, "depb")
    resolution = resolve([], [f"localdep @ {local.as_uri()}"], cache=tmp_path / "cache")
    packages = {p.name: p for p in resolution.packages}
    assert packages["localdep"].path == local.resolve()
    assert packages["localdep"].source == resolver.LOCAL
    assert packages["depb"].source == resolver.INDEX
