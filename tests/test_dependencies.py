"""Resolving dependencies for Pyodide with pip against local wheels only."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from wheelfactory import make_wheel

from pyodide_harness import dependencies as deps
from pyodide_harness.errors import DependencyError

PYODIDE_TAG = "cp314-cp314-pyemscripten_2026_0_wasm32"


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A find-links directory that is pip's only source; the machine's config is ignored."""
    directory = tmp_path / "index"
    directory.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(directory))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_REQUIRE_VIRTUALENV"):
        monkeypatch.delenv(name, raising=False)
    return directory


def names(resolution: deps.Resolution) -> list[str]:
    """Project names of the resolved wheels, sorted."""
    return sorted(path.name.split("-")[0] for path in resolution.wheels)


def project_under_test(tmp_path: Path, requires: Sequence[str], extras: Sequence[str] = ()) -> Path:
    """The wheel under test, built for Pyodide, outside the index."""
    return make_wheel(
        tmp_path / "dist", "mypkg", tag=PYODIDE_TAG, requires_dist=requires, provides_extra=extras
    )


# --- resolve ---------------------------------------------------------------------------


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
    resolution = deps.resolve([(wheel, ())], [], cache=cache)
    assert names(resolution) == ["depa", "depb"]
    assert all(path.parent == (cache / "wheels").resolve() for path in resolution.wheels)
    assert all(path.is_file() for path in resolution.wheels)
    assert resolution.requirements == ()
    assert not list((cache / "wheels").glob("mypkg-*"))  # no copy of the wheel under test


def test_extras_of_wheel_under_test(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depd")
    make_wheel(index, "depe")
    wheel = project_under_test(tmp_path, ['depd; extra == "test"', "depe"], extras=["test"])
    assert names(deps.resolve([(wheel, ("test",))], [], cache=tmp_path / "c1")) == ["depd", "depe"]
    assert names(deps.resolve([(wheel, ())], [], cache=tmp_path / "c2")) == ["depe"]


def test_top_level_requirements_and_their_markers(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depb")
    make_wheel(index, "depc")
    requirements = ["depb", "depc; sys_platform == 'linux'"]
    resolution = deps.resolve([], requirements, cache=tmp_path / "cache")
    assert names(resolution) == ["depb"]
    assert resolution.requirements == tuple(requirements)


def test_platform_wheels_are_chosen_by_pyodide_tags(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "native", version="1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    make_wheel(index, "native", version="0.9", tag="cp314-cp314-pyemscripten_2026_0_wasm32")
    (path,) = deps.resolve([], ["native"], cache=tmp_path / "cache").wheels
    assert path.name == "native-0.9-cp314-cp314-pyemscripten_2026_0_wasm32.whl"


def test_missing_dependency_names_it_and_requirer(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depa", requires_dist=["depz>=1.0"])
    make_wheel(index, "depz", version="2.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    wheel = project_under_test(tmp_path, ["depa"])
    with pytest.raises(DependencyError) as excinfo:
        deps.resolve([(wheel, ())], [], cache=tmp_path / "cache")
    message = str(excinfo.value)
    assert "depz>=1.0: required by depa <- mypkg (under test)" in message
    assert deps.MISSING_WHEEL_FIX in message


def test_missing_direct_requirement(index: Path, tmp_path: Path) -> None:
    with pytest.raises(DependencyError) as excinfo:
        deps.resolve([], ["nothere"], cache=tmp_path / "cache")
    assert "nothere: asked for directly" in str(excinfo.value)


def test_conflict_reports_pip_output(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depa", requires_dist=["depb==1.0"])
    make_wheel(index, "depb", version="1.0")
    make_wheel(index, "depb", version="2.0")
    with pytest.raises(DependencyError) as excinfo:
        deps.resolve([], ["depa", "depb==2.0"], cache=tmp_path / "cache")
    message = str(excinfo.value)
    assert "pip could not resolve the dependencies for Pyodide 314" in message
    assert "conflicting dependencies" in message


def test_wheel_under_test_for_another_platform(index: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist", "mypkg", tag="cp311-cp311-manylinux_2_17_x86_64")
    with pytest.raises(DependencyError, match="is not a supported wheel on this platform"):
        deps.resolve([(wheel, ())], [], cache=tmp_path / "cache")


def test_second_resolve_works_offline_from_cache(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depa", requires_dist=['depb; sys_platform == "emscripten"'])
    make_wheel(index, "depb")
    wheel = project_under_test(tmp_path, ["depa"])
    first = deps.resolve([(wheel, ())], ["depb"], cache=tmp_path / "cache")
    for path in index.iterdir():
        path.unlink()
    messages: list[str] = []
    # Other requirements than the first time: a new resolution, from the cache alone.
    second = deps.resolve([(wheel, ())], [], cache=tmp_path / "cache", log=messages.append)
    assert sorted(second.wheels) == sorted(first.wheels)
    assert names(second) == ["depa", "depb"]
    assert any("no network used" in m for m in messages)


def test_same_inputs_reuse_the_resolution_without_pip(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(index, "depa", requires_dist=["depb"])
    make_wheel(index, "depb")
    wheel = project_under_test(tmp_path, ["depa"])
    first = deps.resolve([(wheel, ())], [], cache=tmp_path / "cache")
    real_run_pip = deps._run_pip
    pip_runs: list[Sequence[str]] = []

    def counting_run_pip(arguments: Sequence[str], offline: bool = False) -> Any:
        pip_runs.append(arguments)
        return real_run_pip(arguments, offline)

    monkeypatch.setattr(deps, "_run_pip", counting_run_pip)
    messages: list[str] = []
    again = deps.resolve([(wheel, ())], [], cache=tmp_path / "cache", log=messages.append)
    assert again.wheels == first.wheels
    assert pip_runs == []
    assert any("as resolved before" in m for m in messages)
    # A wheel of that resolution gone from the cache: pip runs again.
    next(w for w in first.wheels if "depb" in w.name).unlink()
    deps.resolve([(wheel, ())], [], cache=tmp_path / "cache")
    assert pip_runs
    deps.resolve([(wheel, ())], [], cache=tmp_path / "cache")
    runs = len(pip_runs)  # remembered again
    # Other contents under the same file name (a rebuilt wheel): a new key, pip runs.
    rebuilt = project_under_test(tmp_path, ["depb"])
    assert rebuilt == wheel
    deps.resolve([(rebuilt, ())], [], cache=tmp_path / "cache")
    assert len(pip_runs) > runs


def test_second_resolve_makes_no_request(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(index, "depb")
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(index), **kwargs)

        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("PIP_FIND_LINKS", f"http://127.0.0.1:{server.server_address[1]}/")
        first = deps.resolve([], ["depb"], cache=tmp_path / "cache")
        assert requests
        requests.clear()
        assert deps.resolve([], ["depb"], cache=tmp_path / "cache") == first
        assert requests == []
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_offline_pass_ignores_wheels_not_needed(index: Path, tmp_path: Path) -> None:
    make_wheel(index, "depa")
    make_wheel(index, "depb")
    deps.resolve([], ["depa", "depb"], cache=tmp_path / "cache")
    assert names(deps.resolve([], ["depb"], cache=tmp_path / "cache")) == ["depb"]


def test_nothing_to_resolve(tmp_path: Path) -> None:
    assert deps.resolve([], [], cache=tmp_path / "cache") == deps.Resolution((), ())


def test_option_as_requirement_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match="looks like a pip option"):
        deps.resolve([], ["-e ."], cache=tmp_path / "cache")


def test_interpreter_without_pip(index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    monkeypatch.setattr(sys, "executable", str(python))
    with pytest.raises(DependencyError, match=r"(?s)pip is not installed in .*ensurepip"):
        deps.resolve([], ["depb"], cache=tmp_path / "cache")


def test_platform_args_and_marker_env_describe_pyodide_314() -> None:
    assert deps.PYODIDE_MARKER_ENV["sys_platform"] == "emscripten"
    assert deps.PYODIDE_MARKER_ENV["python_full_version"] == "3.14.2"
    args = deps.PIP_PLATFORM_ARGS
    assert args[0] == "--only-binary=:all:"
    platforms = [args[i + 1] for i, arg in enumerate(args) if arg == "--platform"]
    assert platforms == ["pyemscripten_2026_0_wasm32", "pyodide_2026_0_wasm32", "any"]


# --- pyproject.toml detection -----------------------------------------------------------


def write_pyproject(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(text))
    return root


def test_group_with_include_group(tmp_path: Path) -> None:
    root = write_pyproject(
        tmp_path,
        """
        [project]
        name = "mypkg"
        [project.optional-dependencies]
        test = ["from-extra"]
        [dependency-groups]
        base = ["pytest>=8", "hypothesis"]
        Tests = [{include-group = "base"}, "pytest-asyncio", "pytest>=8"]
        dev = ["ruff"]
        """,
    )
    expected = ["pytest>=8", "hypothesis", "pytest-asyncio"]
    assert deps.test_requirements_from_project(root) == expected


def test_first_group_name_wins(tmp_path: Path) -> None:
    root = write_pyproject(
        tmp_path,
        """
        [dependency-groups]
        testing = ["c"]
        tests = ["b"]
        """,
    )
    assert deps.test_requirements_from_project(root) == ["b"]


def test_extra_used_when_no_group(tmp_path: Path) -> None:
    root = write_pyproject(
        tmp_path,
        """
        [project]
        name = "My_Pkg"
        [project.optional-dependencies]
        docs = ["sphinx"]
        plot = ["matplotlib; python_version >= '3.10'"]
        testing = ["pytest", "my-pkg", "my.pkg[plot]; sys_platform == 'emscripten'"]
        [dependency-groups]
        dev = ["ruff"]
        """,
    )
    assert deps.test_requirements_from_project(root) == [
        "pytest",
        'matplotlib; python_version >= "3.10" and sys_platform == "emscripten"',
    ]


def test_self_reference_kept_when_extras_are_dynamic(tmp_path: Path) -> None:
    root = write_pyproject(
        tmp_path,
        """
        [project]
        name = "mypkg"
        dynamic = ["optional-dependencies"]
        [dependency-groups]
        test = ["mypkg[test]", "pytest"]
        """,
    )
    assert deps.test_requirements_from_project(root) == ["mypkg[test]", "pytest"]


def test_self_reference_to_unknown_extra(tmp_path: Path) -> None:
    root = write_pyproject(
        tmp_path,
        """
        [project]
        name = "mypkg"
        [dependency-groups]
        test = ["mypkg[tset]"]
        """,
    )
    with pytest.raises(DependencyError, match="no extra 'tset'"):
        deps.test_requirements_from_project(root)


def test_dev_is_not_taken(tmp_path: Path) -> None:
    root = write_pyproject(
        tmp_path,
        """
        [project]
        name = "mypkg"
        [project.optional-dependencies]
        dev = ["pytest"]
        [dependency-groups]
        dev = ["pytest"]
        """,
    )
    assert deps.test_requirements_from_project(root) == []


def test_no_pyproject(tmp_path: Path) -> None:
    assert deps.test_requirements_from_project(tmp_path) == []


def test_broken_pyproject(tmp_path: Path) -> None:
    root = write_pyproject(tmp_path, "[project\n")
    with pytest.raises(DependencyError, match=r"Cannot read .*pyproject\.toml"):
        deps.test_requirements_from_project(root)


def test_unknown_group(tmp_path: Path) -> None:
    root = write_pyproject(tmp_path, '[dependency-groups]\ntest = ["a"]\nlint = ["b"]\n')
    message = r"group 'docs' does not exist; groups defined: lint, test"
    with pytest.raises(DependencyError, match=message):
        deps.dependency_group(root, "docs")


def test_unknown_included_group(tmp_path: Path) -> None:
    root = write_pyproject(tmp_path, '[dependency-groups]\ntest = [{include-group = "base"}]\n')
    with pytest.raises(DependencyError, match=r"'base' \(included from group 'test'\)"):
        deps.dependency_group(root, "test")


def test_group_cycle(tmp_path: Path) -> None:
    root = write_pyproject(
        tmp_path,
        """
        [dependency-groups]
        a = ["x", {include-group = "b"}]
        b = [{include-group = "c"}]
        c = [{include-group = "A"}]
        """,
    )
    with pytest.raises(DependencyError, match="cycle a -> b -> c -> a"):
        deps.dependency_group(root, "a")


def test_group_bad_entry(tmp_path: Path) -> None:
    root = write_pyproject(tmp_path, '[dependency-groups]\ntest = [{include = "x"}]\n')
    with pytest.raises(DependencyError, match="neither a requirement string"):
        deps.dependency_group(root, "test")


def test_group_without_pyproject(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match="does not exist"):
        deps.dependency_group(tmp_path, "test")


# --- requirements files ---------------------------------------------------------------


def test_requirements_file_with_nesting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINNED", "2.0")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.txt").write_text("pytest  # the runner\nattrs==${PINNED}\n")
    (tmp_path / "sub" / "more.txt").write_text("-r base.txt\nhypothesis\n")
    main = tmp_path / "req.txt"
    main.write_text(
        "# test requirements\n\n"
        "-r sub/more.txt\n"
        "--requirement=sub/base.txt\n"
        "numpy>=2 ; \\\n"
        "  sys_platform == 'emscripten'\n"
        "pytest\n"
    )
    assert deps.read_requirements_file(main) == [
        "pytest",
        "attrs==2.0",
        "hypothesis",
        "numpy>=2 ;   sys_platform == 'emscripten'",
    ]


@pytest.mark.parametrize(
    "line", ["--index-url https://example.org/simple", "-c constraints.txt", "-e .",
             "foo==1.0 --hash=sha256:abcd"]
)  # fmt: skip
def test_requirements_file_refuses_options(tmp_path: Path, line: str) -> None:
    path = tmp_path / "req.txt"
    path.write_text(f"pytest\n{line}\n")
    with pytest.raises(DependencyError, match=r"req\.txt:2: .* uses a pip option"):
        deps.read_requirements_file(path)


def test_requirements_file_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("-ra.txt\n")
    with pytest.raises(DependencyError, match="include each other"):
        deps.read_requirements_file(tmp_path / "a.txt")


def test_requirements_file_missing_nested(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x\n-r gone.txt\n")
    with pytest.raises(DependencyError, match=r"gone.txt \(included from .*a.txt:2\)"):
        deps.read_requirements_file(tmp_path / "a.txt")


def test_pip_download_alone_gets_markers_wrong(index: Path, tmp_path: Path) -> None:
    """Why the launcher exists: the same download without it takes the host's markers."""
    make_wheel(index, "depa", requires_dist=['depb; sys_platform == "emscripten"'])
    make_wheel(index, "depb")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--dest", str(tmp_path / "plain"),
         *deps.PIP_PLATFORM_ARGS, "depa"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "plain").iterdir()) == ["depa"]
