"""The suite's options and ini keys, read from its conftests without running them.

Unit tests of the reader, and pytester runs of the host side that stop before any
runtime boots (``--help``, or a usage error after configure), so they are fast.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pyodide_harness.suiteoptions import (
    HINT,
    OptionDecl,
    find_conftests,
    read_declarations,
    tokens_for,
)
from pyodide_harness.target import UNSUPPORTED_VERSION

CONFTEST = '''
import pytest
import hypothesis          # a test-only dependency the host does not have
import harnessdemo         # the package under test, not importable on the host
raise RuntimeError("this conftest must never run on the host")

NAMES = ["--computed"]

def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")
    group = parser.getgroup("mine")
    group.addoption("--db-url", default=None, help="where the database is")
    group.addoption("-S", "--seeds", action="append", nargs=2, help="pairs of seeds")
    parser.addini("my_flag", "a flag of this suite", type="bool", default=False)
    parser.addini("my_paths", help="paths", type="linelist")
    for name in NAMES:
        parser.addoption(name, action="store_true")
'''


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_declarations_are_read_not_run(tmp_path: Path) -> None:
    write(tmp_path, {"tests/conftest.py": CONFTEST, "tests/deep/conftest.py": "x = 1\n",
                     ".venv/lib/conftest.py": "def pytest_addoption(parser):\n"
                                              "    parser.addoption('--venv-option')\n"})
    decls = read_declarations(tmp_path)
    assert [d.names for d in decls.options] == [("--runslow",), ("--db-url",), ("-S", "--seeds")]
    runslow, db, seeds = decls.options
    assert (runslow.takes_value, db.takes_value, seeds.takes_value, seeds.nargs) == (
        False, True, True, 2)
    assert runslow.help == "run slow tests" and runslow.origin == "tests/conftest.py:10"
    assert [(i.name, i.type) for i in decls.inis] == [("my_flag", "bool"), ("my_paths", "linelist")]
    assert decls.unreadable == ["tests/conftest.py:17: addoption with arguments computed at run time"]
    assert find_conftests(tmp_path) == [tmp_path / "tests/conftest.py",
                                        tmp_path / "tests/deep/conftest.py"]


def test_plugins_named_by_pytest_plugins_are_read_too(tmp_path: Path) -> None:
    write(tmp_path, {
        "conftest.py": 'pytest_plugins = ["mypkg_testing.plugin"]\n',
        "src/mypkg_testing/plugin.py": "def pytest_addoption(parser):\n"
                                       "    parser.addoption('--from-plugin', action='count')\n",
    })
    assert [d.names for d in read_declarations(tmp_path).options] == [("--from-plugin",)]


def test_a_broken_conftest_declares_nothing_and_breaks_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"conftest.py": "def pytest_addoption(parser:\n"})
    assert read_declarations(tmp_path).options == []


@pytest.mark.parametrize(("args", "tokens"), [
    (["--runslow", "-k", "x", "tests"], ["--runslow"]),
    (["--runslow", "--runslow"], ["--runslow", "--runslow"]),
    (["--db-url", "sqlite://", "--db-url=pg://"], ["--db-url=sqlite://", "--db-url=pg://"]),
    (["-S", "1", "2", "--seeds", "3", "4"], ["--seeds", "1", "2", "--seeds", "3", "4"]),
    (["-k", "runslow", "--maxfail=1"], []),
])
def test_tokens_are_picked_out_of_a_command_line(args: list[str], tokens: list[str]) -> None:
    declared = [OptionDecl(("--runslow",), False, None, "", ""),
                OptionDecl(("--db-url",), True, None, "", ""),
                OptionDecl(("-S", "--seeds"), True, 2, "", "")]
    assert tokens_for(declared, args) == tokens


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    write(pytester.path, {
        "pyproject.toml": '[tool.pytest.ini_options]\nmy_flag = true\nfilterwarnings = ["error"]\n',
        "tests/conftest.py": CONFTEST,
        "dist/harnessdemo-1.0-py3-none-any.whl": "",  # never opened: the runs stop earlier
    })
    return pytester.path


def test_help_lists_the_suite_options_without_importing_the_conftest(
    pytester: pytest.Pytester, project: Path
) -> None:
    result = pytester.runpytest_subprocess("--pyodide-wheel=dist/harnessdemo-1.0-py3-none-any.whl",
                                           "--help")
    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines([
        "*the suite's options*",
        "*--runslow*run slow tests (from tests/conftest.py:10)*",
        "*--db-url=DB_URL*",
    ])
    assert "my_flag" in result.stdout.str()
    assert "must never run on the host" not in result.stdout.str() + result.stderr.str()


def test_suite_options_are_accepted_and_a_mistyped_one_is_still_an_error(
    pytester: pytest.Pytester, project: Path
) -> None:
    wheel = "--pyodide-wheel=dist/harnessdemo-1.0-py3-none-any.whl"
    # Stopped by a bad --pyodide-version after configure, i.e. after all options parsed and
    # after the point where pytest would have imported tests/conftest.py.
    accepted = pytester.runpytest_subprocess(wheel, "--runslow", "--db-url", "x",
                                             "--pyodide-version=1.0.0")
    assert accepted.ret == pytest.ExitCode.USAGE_ERROR
    accepted.stderr.fnmatch_lines(["*" + UNSUPPORTED_VERSION.split("{")[0] + "*"])
    output = accepted.stdout.str() + accepted.stderr.str()
    assert "conftest" not in output and "hypothesis" not in output
    mistyped = pytester.runpytest_subprocess(wheel, "--runslwo", "--pyodide-version=1.0.0")
    assert mistyped.ret == pytest.ExitCode.USAGE_ERROR
    mistyped.stderr.fnmatch_lines(["*unrecognized arguments: --runslwo*",
                                   "*" + HINT.format(count=5)[:40] + "*"])


def test_without_the_harness_pytest_imports_the_conftest_as_always(
    pytester: pytest.Pytester, project: Path
) -> None:
    """The harness changes nothing for a plain run (its options exist, and that is all)."""
    result = pytester.runpytest_subprocess("--runslow")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ImportError while loading conftest" in result.stderr.str() + result.stdout.str()
