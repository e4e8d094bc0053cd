"""Where test requirements come from: options, pyproject.toml, requirement files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from wheelfactory import make_wheel

from pyodide_harness import requirements as reqs
from pyodide_harness.errors import DependencyError
from pyodide_harness.requirements import (
    RequirementSource,
    dependency_group,
    describe_sources,
    find_test_requirements,
    read_requirements,
    test_requirements_from_project,
)


def write_pyproject(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(text))
    return root


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


# --- pyproject.toml detection -----------------------------------------------------------


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
    assert test_requirements_from_project(root) == expected


def test_first_group_name_wins(tmp_path: Path) -> None:
    root = write_pyproject(
        tmp_path,
        """
        [dependency-groups]
        testing = ["c"]
        tests = ["b"]
        """,
    )
    assert test_requirements_from_project(root) == ["b"]


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
    assert test_requirements_from_project(root) == [
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
    assert test_requirements_from_project(root) == ["mypkg[test]", "pytest"]


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
        test_requirements_from_project(root)


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
    assert test_requirements_from_project(root) == []
    assert find_test_requirements(root) == []


def test_no_pyproject(tmp_path: Path) -> None:
    assert test_requirements_from_project(tmp_path) == []


def test_broken_pyproject(tmp_path: Path) -> None:
    root = write_pyproject(tmp_path, "[project\n")
    with pytest.raises(DependencyError, match=r"Cannot read .*pyproject\.toml"):
        test_requirements_from_project(root)


def test_unknown_group(tmp_path: Path) -> None:
    root = write_pyproject(tmp_path, '[dependency-groups]\ntest = ["a"]\nlint = ["b"]\n')
    message = r"group 'docs' does not exist; groups defined: lint, test"
    with pytest.raises(DependencyError, match=message):
        dependency_group(root, "docs")


def test_unknown_included_group(tmp_path: Path) -> None:
    root = write_pyproject(tmp_path, '[dependency-groups]\ntest = [{include-group = "base"}]\n')
    with pytest.raises(DependencyError, match=r"'base' \(included from group 'test'\)"):
        dependency_group(root, "test")


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
        dependency_group(root, "a")


def test_group_bad_entry(tmp_path: Path) -> None:
    root = write_pyproject(tmp_path, '[dependency-groups]\ntest = [{include = "x"}]\n')
    with pytest.raises(DependencyError, match="neither a requirement string"):
        dependency_group(root, "test")


def test_group_without_pyproject(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match="does not exist"):
        dependency_group(tmp_path, "test")


# --- finding the sources ------------------------------------------------------------------


@pytest.mark.parametrize("relative", ["requirements-test.txt", "requirements_test.txt",
                                      "test-requirements.txt", "requirements/test.txt",
                                      "requirements/tests.txt", "tests/requirements.txt",
                                      "requirements-tests-py3.txt"])  # fmt: skip
def test_test_requirement_files_are_found(tmp_path: Path, relative: str) -> None:
    write(tmp_path, relative, "hypothesis\nfreezegun>=1\n")
    (source,) = find_test_requirements(tmp_path)
    assert source == RequirementSource(relative, ("hypothesis", "freezegun>=1"))


def test_exact_test_file_name_beats_a_variant(tmp_path: Path) -> None:
    write(tmp_path, "requirements-test-min.txt", "hypothesis==5.0\n")
    write(tmp_path, "tests/requirements.txt", "hypothesis\n")
    (source,) = find_test_requirements(tmp_path)
    assert source.name == "tests/requirements.txt"
    (tmp_path / "tests/requirements.txt").unlink()
    (source,) = find_test_requirements(tmp_path)
    assert source.name == "requirements-test-min.txt"


def test_pyproject_group_and_test_file_are_used_together(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[dependency-groups]\ntest = ["pytest-mock", "hypothesis"]\n')
    write(tmp_path, "requirements-test.txt", "hypothesis==6.0\nfreezegun\n")
    write(tmp_path, "requirements-dev.txt", "never-read\n")
    sources = find_test_requirements(tmp_path)
    assert sources == [
        RequirementSource("pyproject.toml [dependency-groups] test", ("pytest-mock", "hypothesis")),
        RequirementSource("requirements-test.txt", ("hypothesis==6.0", "freezegun")),
    ]
    assert describe_sources(sources) == (
        "pyproject.toml [dependency-groups] test (2), requirements-test.txt (2)")


def test_extra_source_is_named(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[project]\nname = "x"\n[project.optional-dependencies]\ntests = ["a"]\n')
    (source,) = find_test_requirements(tmp_path)
    assert source.name == "pyproject.toml [project.optional-dependencies] tests"


@pytest.mark.parametrize("relative", ["requirements-dev.txt", "requirements/dev.txt",
                                      "dev-requirements.txt"])  # fmt: skip
def test_dev_file_is_the_fallback_and_not_strict(tmp_path: Path, relative: str) -> None:
    write(tmp_path, relative, """\
        six
        pytest>=3.0
        pytest-cov
        freezegun
        tox
        pre-commit>=2
        Sphinx
        sphinx-rtd-theme
        flake8-bugbear
        types-six
        build
        """)
    (source,) = find_test_requirements(tmp_path)
    assert source.name == relative
    assert source.strict is False
    assert source.requirements == ("six", "pytest>=3.0", "pytest-cov", "freezegun")
    (note,) = source.notes
    assert note.startswith(f"{relative}: left out host tools tox, pre-commit, Sphinx, "
                           "sphinx-rtd-theme, flake8-bugbear, types-six, build")
    assert "--pyodide-requirement" in note


def test_dev_file_not_used_beside_a_test_source(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[dependency-groups]\ntests = ["hypothesis"]\n')
    write(tmp_path, "requirements-dev.txt", "ruff\nhypothesis\n")
    assert [s.name for s in find_test_requirements(tmp_path)] == [
        "pyproject.toml [dependency-groups] tests"]


def test_host_tools_of_test_files_are_installed_only_if_pyodide_can(tmp_path: Path) -> None:
    """mypy may be imported by a test (it has a pure wheel); ruff has no Pyodide wheel and
    would stop the run (more-itertools lists it): tools go in a source that is not strict."""
    write(tmp_path, "requirements-test.txt", "mypy\npytest-mypy-plugins\nruff\n")
    tests, tools = find_test_requirements(tmp_path)
    assert (tests.requirements, tests.strict) == (("pytest-mypy-plugins",), True)
    assert (tools.name, tools.requirements, tools.strict) == (
        "requirements-test.txt (host tools)", ("mypy", "ruff"), False)


def test_explicit_options_replace_discovery(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[dependency-groups]\ntest = ["a"]\nlint = ["b"]\n')
    write(tmp_path, "requirements-test.txt", "c\n")
    other = write(tmp_path / "elsewhere", "reqs.txt", "d\n")
    sources = find_test_requirements(tmp_path, requirements=["e>=1"], files=[other], groups=["lint"])
    assert sources == [
        RequirementSource("--pyodide-requirement", ("e>=1",)),
        RequirementSource("elsewhere/reqs.txt", ("d",)),
        RequirementSource("pyproject.toml [dependency-groups] lint", ("b",)),
    ]
    assert all(s.strict for s in sources)
    assert find_test_requirements(tmp_path, groups=["lint"]) == [sources[2]]


def test_explicit_requirement_that_is_an_option(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match=r"--pyodide-requirement '-r x\.txt' looks like a pip option"):
        find_test_requirements(tmp_path, requirements=["-r x.txt"])


def test_nothing_found(tmp_path: Path) -> None:
    assert find_test_requirements(tmp_path) == []
    assert describe_sources([]) == "none"


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
    found = read_requirements(main)
    assert found.requirements == (
        "pytest",
        "attrs==2.0",
        "hypothesis",
        "numpy>=2 ;   sys_platform == 'emscripten'",
    )
    assert found.notes == ()


@pytest.mark.parametrize(
    ("line", "note"),
    [("--index-url https://example.org/simple", reqs.INDEX_OPTION_NOTE),
     ("-i https://example.org/simple", reqs.INDEX_OPTION_NOTE),
     ("--extra-index-url=https://example.org/simple", reqs.INDEX_OPTION_NOTE),
     ("--find-links ./wheels", reqs.INDEX_OPTION_NOTE),
     ("--pre", reqs.OTHER_OPTION_NOTE),
     ("--only-binary :all:", reqs.OTHER_OPTION_NOTE),
     ("-c constraints.txt", reqs.CONSTRAINTS_NOTE)],
)  # fmt: skip
def test_option_lines_are_ignored_with_a_note(tmp_path: Path, line: str, note: str) -> None:
    path = write(tmp_path, "req.txt", f"pytest\n{line}\nhypothesis\n")
    found = read_requirements(path, project_root=tmp_path)
    assert found.requirements == ("pytest", "hypothesis")
    assert found.notes == (f"req.txt:2: {line!r} ignored: {note}",)


def test_hashes_are_stripped_with_one_note_per_file(tmp_path: Path) -> None:
    path = write(tmp_path, "req.txt", """\
        foo==1.0 \\
            --hash=sha256:aaaa \\
            --hash=sha256:bbbb
        bar==2.0 --hash=sha256:cccc
        baz
        """)
    found = read_requirements(path, project_root=tmp_path)
    assert found.requirements == ("foo==1.0", "bar==2.0", "baz")
    (note,) = found.notes
    assert note.startswith("req.txt: --hash ignored on 2 line(s)")


def test_the_project_itself_is_the_wheel_under_test(tmp_path: Path) -> None:
    write_pyproject(tmp_path, """
        [project]
        name = "mypkg"
        [project.optional-dependencies]
        test = ["hypothesis", "freezegun"]
        """)
    path = write(tmp_path, "requirements/dev.txt", """\
        -e .
        .
        -e .[test]
        mypkg
        mypkg[test]
        pytest
        """)
    found = read_requirements(path, project_root=tmp_path)
    assert found.requirements == ("hypothesis", "freezegun", "pytest")
    assert found.notes[0] == (
        "requirements/dev.txt:1: -e . left out: it is the project itself; "
        "the wheel under test stands for it")
    assert found.notes[1].startswith("requirements/dev.txt:2: . left out: it is the project itself")
    assert found.notes[2].startswith("requirements/dev.txt:3: -e .[test]: the wheel under test stands")
    assert found.notes[3] == "requirements/dev.txt:4: mypkg left out: the wheel under test is this project"
    assert len(found.notes) == 4


def test_project_extras_without_a_project_name(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("")
    path = write(tmp_path, "requirements-test.txt", "-e .[test]\npytest\n")
    found = read_requirements(path, project_root=tmp_path)
    assert found.requirements == ("pytest",)
    (note,) = found.notes
    assert "extras [test] cannot be read" in note
    assert "--pyodide-requirement" in note


def test_paths_and_urls(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "wheels", "localdep")
    (tmp_path / "vendor" / "other").mkdir(parents=True)
    (tmp_path / "sdists").mkdir()
    (tmp_path / "sdists" / "thing-1.0.tar.gz").write_bytes(b"")
    path = write(tmp_path, "requirements-test.txt", """\
        ./wheels/localdep-1.0-py3-none-any.whl
        -e ./vendor/other
        sdists/thing-1.0.tar.gz
        git+https://github.com/o/r.git#egg=r
        r2 @ git+https://github.com/o/r2.git
        https://example.org/files/remote-2.0-py3-none-any.whl
        remote3 @ https://example.org/files/remote3-1.0-py3-none-any.whl
        src @ https://example.org/files/src-1.0.tar.gz
        pytest
        """)
    found = read_requirements(path, project_root=tmp_path)
    assert found.requirements == (
        f"localdep @ {wheel.resolve().as_uri()}",
        "remote @ https://example.org/files/remote-2.0-py3-none-any.whl",
        "remote3 @ https://example.org/files/remote3-1.0-py3-none-any.whl",
        "pytest",
    )
    notes = "\n".join(found.notes)
    assert "requirements-test.txt:2: -e ./vendor/other left out: sources must be built" in notes
    assert "requirements-test.txt:3: sdists/thing-1.0.tar.gz left out: sources must be built" in notes
    assert "requirements-test.txt:4: git+https://github.com/o/r.git#egg=r left out: a VCS checkout" in notes
    assert "requirements-test.txt:5: r2 @ git+https://github.com/o/r2.git left out: not a wheel" in notes
    assert "requirements-test.txt:8: src @ https://example.org/files/src-1.0.tar.gz left out" in notes
    assert len(found.notes) == 5


def test_relative_path_from_the_files_directory(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "requirements" / "wheels", "localdep")
    path = write(tmp_path, "requirements/test.txt", "wheels/localdep-1.0-py3-none-any.whl\n")
    assert read_requirements(path, project_root=tmp_path).requirements == (
        f"localdep @ {wheel.resolve().as_uri()}",)


@pytest.mark.parametrize("line", ["./missing/dir", "not a requirement ==="])
def test_unusable_line_is_an_error(tmp_path: Path, line: str) -> None:
    path = write(tmp_path, "req.txt", f"pytest\n{line}\n")
    with pytest.raises(DependencyError, match=r"(?s)req\.txt:2: .*Fix: correct the line"):
        read_requirements(path, project_root=tmp_path)


def test_requirements_file_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("-ra.txt\n")
    with pytest.raises(DependencyError, match="include each other"):
        read_requirements(tmp_path / "a.txt")


def test_requirements_file_missing_nested(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x\n-r gone.txt\n")
    with pytest.raises(DependencyError, match=r"gone.txt \(included from .*a.txt:2\)"):
        read_requirements(tmp_path / "a.txt")


def test_dev_file_notes_reach_the_source(tmp_path: Path) -> None:
    write(tmp_path, "requirements-dev.txt", "-e .\n-r requirements-docs.txt\nhypothesis\n")
    write(tmp_path, "requirements-docs.txt", "sphinx\nmyst-parser\n")
    (source,) = find_test_requirements(tmp_path)
    assert source.requirements == ("myst-parser", "hypothesis")
    assert source.notes[0].startswith("requirements-dev.txt:1: -e . left out")
    assert source.notes[1].startswith("requirements-dev.txt: left out host tools sphinx ")
