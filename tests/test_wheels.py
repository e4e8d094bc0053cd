"""Wheel intake: which wheels Pyodide 314 accepts, and what users are told when it does not."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.tags import parse_tag

if str(Path(__file__).parent) not in sys.path:  # pragma: no cover - conftest normally does it
    sys.path.insert(0, str(Path(__file__).parent))

from wheelfactory import make_wheel

from pyodide_harness import wheels, wheelspec
from pyodide_harness.errors import EXIT_USAGEERROR, WheelError
from pyodide_harness.tags import FIX_NATIVE, FIX_PURE, FIX_REBUILD
from pyodide_harness.target import NEEDED_TAG, PLATFORMS
from pyodide_harness.wheelcheck import (
    MSG_BAD_WHEEL_FILE,
    MSG_PURE_NATIVE,
    MSG_PURE_WASM,
    MSG_TAG_MISMATCH,
    MSG_UNSAFE_PATHS,
    RECORD_HASH_MISMATCH,
    RECORD_MISSING,
    RECORD_UNLISTED,
    UNSAFE_ABSOLUTE,
    UNSAFE_BACKSLASH,
    UNSAFE_DRIVE,
    UNSAFE_PARENT,
)
from pyodide_harness.wheels import WheelInfo, check_wheel, collect_wheels
from pyodide_harness.wheelspec import NOT_A_WHEEL_WHY

WASM = b"\x00asm\x01\x00\x00\x00" + b"\x00" * 56
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
MACHO = b"\xcf\xfa\xed\xfe" + b"\x00" * 60
WASM_TAG = "cp314-cp314-pyemscripten_2026_0_wasm32"
EXT = ".cpython-314-wasm32-emscripten.so"


def refusal(call: Callable[[], object]) -> str:
    """Run ``call``, expect a WheelError with the usage-error exit code, return its message."""
    with pytest.raises(WheelError) as excinfo:
        call()
    assert excinfo.value.exit_code == EXIT_USAGEERROR
    return str(excinfo.value)


def wasm_wheel(directory: Path, name: str = "fastpkg", tag: str = WASM_TAG, **kw: object) -> Path:
    files = {f"{name}/__init__.py": "", f"{name}/_speedups{EXT}": WASM}
    return make_wheel(directory, name, tag=tag, files=files, **kw)  # type: ignore[arg-type]


# --- accepted -----------------------------------------------------------------------------


def test_pure_wheel_is_described(tmp_path: Path) -> None:
    path = make_wheel(
        tmp_path,
        "My_Pkg",
        "1.0.0",
        requires_dist=["attrs>=23", "pytest; extra == 'test'"],
        provides_extra=["test"],
    )
    info = check_wheel(path)
    assert info == WheelInfo(
        path=path,
        name="my-pkg",
        version="1.0.0",
        tags=frozenset({"py3-none-any"}),
        extras=(),
        requires_dist=("attrs>=23", "pytest; extra == 'test'"),
        top_level=("My_Pkg",),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        is_pure=True,
    )
    assert info.path.is_absolute()


@pytest.mark.parametrize(
    "tag",
    [
        "py3-none-any",
        "py2.py3-none-any",
        "py311-none-any",
        "py314-none-any",
        "py30-none-any",
        "cp314-none-any",
    ],
)
def test_pure_tags_are_accepted(tmp_path: Path, tag: str) -> None:
    info = check_wheel(make_wheel(tmp_path, "purepkg", tag=tag))
    assert info.is_pure
    assert info.tags == frozenset(str(t) for t in parse_tag(tag))


@pytest.mark.parametrize(
    "tag",
    [
        "cp314-cp314-pyemscripten_2026_0_wasm32",
        "cp314-cp314-pyodide_2026_0_wasm32",
        "cp314-abi3-pyemscripten_2026_0_wasm32",
        "cp312-abi3-pyemscripten_2026_0_wasm32",
        "cp310-abi3-pyodide_2026_0_wasm32",
        "py3-none-pyemscripten_2026_0_wasm32",
        # any accepted tag is enough, whatever else the wheel claims
        "cp314-cp314-manylinux_2_17_x86_64.pyemscripten_2026_0_wasm32",
    ],
)
def test_pyodide_314_tags_are_accepted(tmp_path: Path, tag: str) -> None:
    info = check_wheel(wasm_wheel(tmp_path, tag=tag))
    assert not info.is_pure
    assert info.name == "fastpkg"


def test_platforms_constant() -> None:
    assert PLATFORMS == ("pyemscripten_2026_0_wasm32", "pyodide_2026_0_wasm32")


def test_msgpack_like_real_wheel(tmp_path: Path) -> None:
    """Laid out like msgpack 1.2.4's published Pyodide wheel (licenses/, top_level.txt)."""
    files: dict[str, str | bytes] = {
        "msgpack/__init__.py": "from .ext import ExtType\n",
        f"msgpack/_cmsgpack{EXT}": WASM,
        "msgpack/exceptions.py": "",
        "msgpack/ext.py": "class ExtType: pass\n",
        "msgpack/fallback.py": "",
        "msgpack-1.2.4.dist-info/licenses/COPYING": "Apache 2.0\n",
        "msgpack-1.2.4.dist-info/top_level.txt": "msgpack\n",
    }
    path = make_wheel(tmp_path / "dist", "msgpack", "1.2.4", WASM_TAG, files=files)
    intake = collect_wheels(["dist/*.whl[]"], tmp_path)
    assert intake.skipped == ()
    (info,) = intake.wheels
    assert (info.path, info.name, info.version) == (path, "msgpack", "1.2.4")
    assert info.tags == frozenset({WASM_TAG})
    assert info.top_level == ("msgpack",)
    assert not info.is_pure


def test_top_level_names(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "pkg/__init__.py": "",
        "pkg/sub/mod.py": "",
        "ns/part/__init__.py": "",
        "single.py": "",
        f"baz{EXT}": WASM,
        "qux.abi3.so": WASM,
        "fastpkg.libs/libz.so": WASM,
        "__pycache__/single.cpython-314.pyc": b"",
        "helpers.pth": "import pkg\n",
        "README": "",
        "fastpkg-1.0.data/purelib/viadata.py": "",
        "fastpkg-1.0.data/scripts/tool": "#!python\n",
        "fastpkg-1.0.data/data/share/x.txt": "",
    }
    info = check_wheel(make_wheel(tmp_path, "fastpkg", tag=WASM_TAG, files=files))
    assert info.top_level == ("baz", "ns", "pkg", "qux", "single", "viadata")


def test_metadata_version_is_compared_as_a_version(tmp_path: Path) -> None:
    info = check_wheel(make_wheel(tmp_path, "pkg", "1.0", metadata_version="1.0.0"))
    assert info.version == "1.0"


def test_compatible_requires_python_is_accepted(tmp_path: Path) -> None:
    check_wheel(make_wheel(tmp_path, "pkg", requires_python=">=3.10"))


# --- refused for their tags ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("cp313-cp313-pyemscripten_2025_0_wasm32", ["Pyodide 0.28/0.29", "Python 3.13"]),
        ("cp313-cp313-pyodide_2025_0_wasm32", ["Pyodide 0.28/0.29", "Python 3.13"]),
        ("cp312-cp312-pyodide_2024_0_wasm32", ["Pyodide 0.27", "Python 3.12"]),
        ("cp312-cp312-emscripten_3_1_58_wasm32", ["Pyodide 0.26", "Python 3.12", "pre-PEP 783"]),
        ("cp315-cp315-pyemscripten_2027_0_wasm32", ["ABI 2027_0", "newer"]),
        ("cp311-cp311-pyodide_2023_0_wasm32", ["ABI 2023_0", "older"]),
        ("cp311-cp311-emscripten_3_1_99_wasm32", ["Emscripten 3.1.99", "pre-PEP 783"]),
    ],
)
def test_other_pyodide_abi_is_refused(tmp_path: Path, tag: str, expected: list[str]) -> None:
    path = wasm_wheel(tmp_path, tag=tag)
    message = refusal(lambda: check_wheel(path))
    for text in [path.name, tag, NEEDED_TAG, FIX_REBUILD, *expected]:
        assert text in message


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("cp313-cp313-pyemscripten_2026_0_wasm32", "built for CPython 3.13;"),
        ("cp315-cp315-pyodide_2026_0_wasm32", "built for CPython 3.15;"),
        ("cp315-abi3-pyemscripten_2026_0_wasm32", "stable ABI of CPython 3.15 and later"),
        ("cp314-cp314t-pyemscripten_2026_0_wasm32", "free-threaded CPython 3.14t"),
        ("pp310-pypy310_pp73-pyemscripten_2026_0_wasm32", "pp310 interpreter"),
    ],
)
def test_other_python_is_refused(tmp_path: Path, tag: str, expected: str) -> None:
    path = wasm_wheel(tmp_path, tag=tag)
    message = refusal(lambda: check_wheel(path))
    assert expected in message
    assert "Pyodide 314 runs CPython 3.14.2" in message
    for text in [path.name, tag, NEEDED_TAG, "cp314-pyodide_wasm32", "pyodide build"]:
        assert text in message


@pytest.mark.parametrize(
    ("tag", "system"),
    [
        ("cp314-cp314-manylinux_2_17_x86_64.manylinux2014_x86_64", "Linux"),
        ("cp314-cp314-musllinux_1_2_aarch64", "Linux (musl)"),
        ("cp314-cp314-macosx_11_0_arm64", "macOS"),
        ("cp314-cp314-win_amd64", "Windows"),
        ("cp314-none-wasi_0_0_0_wasm32", "WASI"),
    ],
)
def test_native_wheel_named_explicitly_is_refused(tmp_path: Path, tag: str, system: str) -> None:
    path = make_wheel(tmp_path, "nativepkg", tag=tag, files={"nativepkg/_c.so": ELF})
    message = refusal(lambda: collect_wheels([path.name], tmp_path))
    assert f"native wheel for {system} (" in message
    assert tag.split("-")[2].split(".")[0] in message
    for text in [path.name, NEEDED_TAG, FIX_NATIVE, "Given as: --pyodide-wheel"]:
        assert text in message
    assert "cibuildwheel --platform pyodide" in FIX_NATIVE and "pyodide build" in FIX_NATIVE


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("py2-none-any", "Python 2 only"),
        ("py315-none-any", "Python 3.15 or later"),
        ("cp313-none-any", "CPython 3.13"),
    ],
)
def test_pure_wheel_for_another_python_is_refused(tmp_path: Path, tag: str, expected: str) -> None:
    path = make_wheel(tmp_path, "purepkg", tag=tag)
    message = refusal(lambda: check_wheel(path))
    for text in [path.name, tag, NEEDED_TAG, expected, FIX_PURE]:
        assert text in message


# --- files, directories and globs ---------------------------------------------------------


def native_family(dist: Path, name: str = "pkg") -> list[Path]:
    return [
        make_wheel(dist, name, tag="cp314-cp314-manylinux_2_17_x86_64"),
        make_wheel(dist, name, tag="cp314-cp314-macosx_11_0_arm64"),
        make_wheel(dist, name, tag="cp314-cp314-win_amd64"),
    ]


@pytest.mark.parametrize("spec", ["dist", "dist/", "dist/*.whl", "dist/pkg-*"])
def test_glob_or_directory_skips_native_wheels(tmp_path: Path, spec: str) -> None:
    dist = tmp_path / "dist"
    natives = native_family(dist)
    usable = wasm_wheel(dist, "pkg")
    intake = collect_wheels([spec], tmp_path)
    assert [w.path for w in intake.wheels] == [usable]
    assert sorted(path for path, _ in intake.skipped) == sorted(natives)
    for path, why in intake.skipped:
        assert path.name.split("-", 2)[2].removesuffix(".whl") in why
        assert "native wheel for" in why


def test_native_platforms_of_one_system_are_named_together(tmp_path: Path) -> None:
    tag = "cp314-cp314-manylinux_2_17_x86_64.manylinux2014_x86_64"
    path = make_wheel(tmp_path, "nativepkg", tag=tag)
    message = refusal(lambda: check_wheel(path))
    assert "a native wheel for Linux (manylinux2014_x86_64, manylinux_2_17_x86_64), not" in message
    assert message.count("native wheel") == 1


def test_origin_is_given_above_the_fix(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "pkg", corrupt_record_for="pkg/__init__.py")
    lines = refusal(lambda: collect_wheels([path.name], tmp_path)).splitlines()
    assert lines[-2:] == [f"  Given as: --pyodide-wheel {path.name}", lines[-1]]
    assert lines[-1].startswith("  Fix: ")


def test_glob_with_only_native_wheels_is_refused(tmp_path: Path) -> None:
    natives = native_family(tmp_path / "dist")
    (tmp_path / "dist" / "pkg-1.0.tar.gz").write_bytes(b"sdist")
    message = refusal(lambda: collect_wheels(["dist/*"], tmp_path))
    assert "--pyodide-wheel dist/* matched no wheel Pyodide 314 can install" in message
    for path in natives:
        assert f"dist/{path.name}: tagged " in message
    assert f"dist/pkg-1.0.tar.gz: {NOT_A_WHEEL_WHY}" in message
    assert NEEDED_TAG in message and FIX_NATIVE in message


def test_directory_with_only_native_wheels_is_refused(tmp_path: Path) -> None:
    native_family(tmp_path / "dist")
    message = refusal(lambda: collect_wheels(["dist"], tmp_path))
    assert "matched no wheel Pyodide 314 can install" in message


def test_other_pyodide_build_beside_a_usable_one_is_skipped(tmp_path: Path) -> None:
    """cibuildwheel building cp313 and cp314 Pyodide wheels into one dist/."""
    dist = tmp_path / "dist"
    old = wasm_wheel(dist, "pkg", tag="cp313-cp313-pyemscripten_2025_0_wasm32")
    new = wasm_wheel(dist, "pkg")
    intake = collect_wheels(["dist/*.whl"], tmp_path)
    assert [w.path for w in intake.wheels] == [new]
    ((skipped, why),) = intake.skipped
    assert skipped == old
    assert "Pyodide 0.28/0.29" in why


def test_other_pyodide_build_without_a_usable_one_is_refused(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    old = wasm_wheel(dist, "pkg", tag="cp313-cp313-pyemscripten_2025_0_wasm32")
    make_wheel(dist, "helper")
    message = refusal(lambda: collect_wheels(["dist/*.whl"], tmp_path))
    assert f"Wheel {old} cannot be installed in Pyodide 314" in message
    assert "Given as: --pyodide-wheel dist/*.whl" in message
    assert "Pyodide 0.28/0.29" in message


def test_glob_matching_nothing_names_pattern_and_base(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    message = refusal(lambda: collect_wheels(["dist/*.whl"], tmp_path))
    assert message == wheelspec.MSG_GLOB_EMPTY.format(
        option="--pyodide-wheel", spec="dist/*.whl", pattern="dist/*.whl", base=tmp_path
    )


def test_missing_path_names_spec_and_base(tmp_path: Path) -> None:
    message = refusal(lambda: collect_wheels(["dist/nope-1.0-py3-none-any.whl[test]"], tmp_path))
    assert "--pyodide-wheel dist/nope-1.0-py3-none-any.whl[test]" in message
    assert str(tmp_path / "dist" / "nope-1.0-py3-none-any.whl") in message
    assert f"resolved against {tmp_path}" in message


def test_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "notes.txt").write_text("")
    message = refusal(lambda: collect_wheels(["dist"], tmp_path))
    assert f"{tmp_path / 'dist'} contains no .whl file" in message


def test_empty_spec_is_refused(tmp_path: Path) -> None:
    assert "empty value" in refusal(lambda: collect_wheels([" "], tmp_path))


def test_named_file_that_is_not_a_wheel_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pkg-1.0.tar.gz").write_bytes(b"sdist")
    message = refusal(lambda: collect_wheels(["pkg-1.0.tar.gz"], tmp_path))
    assert "pkg-1.0.tar.gz is not a wheel" in message


def test_relative_specs_resolve_against_base_not_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    path = make_wheel(project / "dist", "pkg")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for spec in ["dist/pkg-1.0-py3-none-any.whl", "dist", "dist/*.whl", str(path)]:
        assert [w.path for w in collect_wheels([spec], project).wheels] == [path]


def test_recursive_glob_and_several_specs_keep_order(tmp_path: Path) -> None:
    first = make_wheel(tmp_path / "a" / "dist", "alpha")
    second = make_wheel(tmp_path / "b" / "deep" / "dist", "beta")
    third = make_wheel(tmp_path / "c", "gamma")
    intake = collect_wheels(["c", "**/dist/*.whl"], tmp_path)
    assert [w.path for w in intake.wheels] == [third, first, second]


def test_glob_matching_a_directory_uses_its_wheels(tmp_path: Path) -> None:
    path = make_wheel(tmp_path / "build" / "wheelhouse", "pkg")
    assert [w.path for w in collect_wheels(["build/wheel*"], tmp_path).wheels] == [path]


def test_same_file_given_twice_is_one_wheel_with_merged_extras(tmp_path: Path) -> None:
    path = make_wheel(tmp_path / "dist", "pkg", provides_extra=["test", "docs"])
    intake = collect_wheels(
        ["dist/*.whl", "dist/pkg-1.0-py3-none-any.whl[test]", f"{path}[docs,test]"], tmp_path
    )
    (info,) = intake.wheels
    assert info.extras == ("test", "docs")


def test_no_specs_is_an_empty_intake(tmp_path: Path) -> None:
    assert collect_wheels([], tmp_path) == wheels.WheelIntake(wheels=(), skipped=())


def test_brackets_that_are_part_of_an_existing_path_are_not_extras(tmp_path: Path) -> None:
    path = make_wheel(tmp_path / "out[1]", "pkg")
    (info,) = collect_wheels(["out[1]"], tmp_path).wheels
    assert (info.path, info.extras) == (path, ())


# --- archive checks -----------------------------------------------------------------------


def test_truncated_wheel_is_refused(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "pkg")
    path.write_bytes(path.read_bytes()[:-40])
    message = refusal(lambda: check_wheel(path))
    assert str(path) in message and "not a readable zip archive" in message


def test_non_zip_wheel_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pkg-1.0-py3-none-any.whl"
    path.write_text("<html>404 Not Found</html>")
    message = refusal(lambda: collect_wheels([path.name], tmp_path))
    assert "not a readable zip archive" in message and str(path) in message


def test_unparseable_file_name_is_refused(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "pkg", filename="pkg_latest.whl")
    message = refusal(lambda: check_wheel(path))
    assert "pkg_latest.whl has an invalid wheel file name" in message


def test_wheel_without_dist_info_is_refused(tmp_path: Path) -> None:
    path = make_wheel(
        tmp_path, "pkg", with_metadata=False, with_wheel_file=False, with_record=False
    )
    message = refusal(lambda: check_wheel(path))
    assert "exactly one top-level .dist-info directory, found none" in message


def test_wheel_with_two_dist_infos_is_refused(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "pkg", extra_dist_info="other-2.0.dist-info")
    message = refusal(lambda: check_wheel(path))
    assert "found other-2.0.dist-info, pkg-1.0.dist-info" in message


def test_dist_info_of_another_project_is_refused(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "pkg", filename="other-1.0-py3-none-any.whl")
    message = refusal(lambda: check_wheel(path))
    assert "pkg-1.0.dist-info" in message and "project other" in message


@pytest.mark.parametrize(
    ("knob", "member"),
    [("with_wheel_file", "WHEEL"), ("with_metadata", "METADATA"), ("with_record", "RECORD")],
)
def test_missing_dist_info_file_is_refused(tmp_path: Path, knob: str, member: str) -> None:
    path = make_wheel(tmp_path, "pkg", **{knob: False})  # type: ignore[arg-type]
    message = refusal(lambda: check_wheel(path))
    assert f"has no pkg-1.0.dist-info/{member}" in message


def test_unsupported_wheel_version_is_refused(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg-1.0.dist-info/WHEEL": "Wheel-Version: 2.0\n"}
    path = make_wheel(tmp_path, "pkg", files=files, with_wheel_file=False)
    assert "declares Wheel-Version 2.0" in refusal(lambda: check_wheel(path))


@pytest.mark.parametrize(
    ("knob", "value", "expected"),
    [
        ("metadata_name", "other", "METADATA says Name 'other', its file name says 'pkg'"),
        ("metadata_version", "2.0", "METADATA says Version '2.0', its file name says '1.0'"),
    ],
)
def test_metadata_disagreeing_with_file_name_is_refused(
    tmp_path: Path, knob: str, value: str, expected: str
) -> None:
    path = make_wheel(tmp_path, "pkg", **{knob: value})  # type: ignore[arg-type]
    message = refusal(lambda: check_wheel(path))
    assert expected in message and str(path) in message


def test_requires_python_excluding_314_is_refused(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "pkg", requires_python="<3.14")
    message = refusal(lambda: check_wheel(path))
    assert "requires Python <3.14; Pyodide 314 runs CPython 3.14.2" in message


def test_invalid_requires_dist_is_refused(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "pkg", requires_dist=["attrs >>= 1"])
    assert "invalid Requires-Dist 'attrs >>= 1'" in refusal(lambda: check_wheel(path))


def test_record_hash_mismatch_names_the_file(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "pkg", corrupt_record_for="pkg/__init__.py")
    message = refusal(lambda: check_wheel(path))
    assert f"{RECORD_HASH_MISMATCH}: pkg/__init__.py" in message
    assert "pkg-1.0.dist-info/RECORD" in message and str(path) in message


def test_record_mismatch_lists_the_first_files(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {f"pkg/m{i}.py": str(i) for i in range(8)}
    path = make_wheel(tmp_path, "pkg", files=files)
    tampered = tmp_path / "tampered"
    make_wheel(tampered, "pkg", files={name: "changed" for name in files}, with_record=False)
    _swap_record(path, tampered / path.name)
    message = refusal(lambda: check_wheel(tampered / path.name))
    assert f"{RECORD_HASH_MISMATCH}: pkg/m0.py, pkg/m1.py" in message
    assert "pkg/m4.py and 3 more" in message


def _swap_record(source: Path, target: Path) -> None:
    """Put ``source``'s RECORD into ``target``, as if files were edited after the build."""
    with zipfile.ZipFile(source) as zf:
        record = zf.read("pkg-1.0.dist-info/RECORD")
    with zipfile.ZipFile(target, "a") as zf:
        zf.writestr("pkg-1.0.dist-info/RECORD", record)


def test_file_missing_from_record_is_refused(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg/sneaky.py": "import os\n"}
    path = make_wheel(tmp_path, "pkg", files=files, unrecorded=["pkg/sneaky.py"])
    assert f"{RECORD_UNLISTED}: pkg/sneaky.py" in refusal(lambda: check_wheel(path))


def test_record_entry_missing_from_archive_is_refused(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "pkg", record_only=["pkg/gone.py"])
    assert f"{RECORD_MISSING}: pkg/gone.py" in refusal(lambda: check_wheel(path))


@pytest.mark.parametrize(("binary", "kind"), [(ELF, "Linux ELF"), (MACHO, "macOS Mach-O")])
def test_wasm_wheel_with_host_binary_is_refused(tmp_path: Path, binary: bytes, kind: str) -> None:
    files: dict[str, str | bytes] = {"fastpkg/__init__.py": "", f"fastpkg/_speedups{EXT}": binary}
    path = make_wheel(tmp_path, "fastpkg", tag=WASM_TAG, files=files)
    message = refusal(lambda: check_wheel(path))
    assert f"fastpkg/_speedups{EXT} is a {kind} binary" in message
    assert WASM_TAG in message and str(path) in message and "Emscripten" in message


@pytest.mark.parametrize(
    "module",
    [
        "fastpkg/_speedups.cpython-314-x86_64-linux-gnu.so",
        "fastpkg/_speedups.cpython-313-wasm32-emscripten.so",
        "fastpkg/_speedups.pypy310-pp73-x86_64-linux-gnu.so",
    ],
)
@pytest.mark.parametrize("tag", [WASM_TAG, "py3-none-any"])
def test_extension_with_a_suffix_pyodide_does_not_load_is_refused(
    tmp_path: Path, module: str, tag: str
) -> None:
    path = make_wheel(tmp_path, "fastpkg", tag=tag, files={"fastpkg/__init__.py": "", module: WASM})
    message = refusal(lambda: check_wheel(path))
    assert f"contains {module}" in message and str(path) in message
    assert ".cpython-314-wasm32-emscripten.so" in message


def test_extension_suffixes_pyodide_loads_are_accepted(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "fastpkg/__init__.py": "",
        f"fastpkg/_a{EXT}": WASM,
        "fastpkg/_b.abi3.so": WASM,
        "fastpkg/_c.so": WASM,
        "fastpkg.libs/libfoo-1.2.so": WASM,
    }
    check_wheel(make_wheel(tmp_path, "fastpkg", tag=WASM_TAG, files=files))


# --- unsafe and lying wheels (issue 12, item 5) ---------------------------------------------


@pytest.mark.parametrize(
    ("entry", "kind"),
    [
        ("../../evil.py", UNSAFE_PARENT),
        ("pkg/../../evil.py", UNSAFE_PARENT),
        ("pkg-1.0.data/purelib/../../../evil.py", UNSAFE_PARENT),
        ("/tmp/evil.py", UNSAFE_ABSOLUTE),
        ("C:/evil.py", UNSAFE_DRIVE),
        ("c:evil.py", UNSAFE_DRIVE),
        ("..\\..\\evil.py", UNSAFE_BACKSLASH),
        ("pkg\\evil.py", UNSAFE_BACKSLASH),
    ],
)
def test_entry_outside_the_install_directory_is_refused(
    tmp_path: Path, entry: str, kind: str
) -> None:
    path = make_wheel(tmp_path, "pkg", files={"pkg/__init__.py": "", entry: "import os\n"})
    message = refusal(lambda: check_wheel(path))
    assert message == MSG_UNSAFE_PATHS.format(wheel=path, problems=f"    {kind}: {entry}")
    assert "pip refuses" in message and "Fix: rebuild it" in message


def test_unsafe_entries_are_listed_by_kind(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"pkg/__init__.py": "", "/etc/evil.py": "", "C:/evil.py": ""}
    files.update({f"../evil{i}.py": "" for i in range(7)})
    path = make_wheel(tmp_path, "pkg", files=files)
    lines = refusal(lambda: check_wheel(path)).splitlines()
    assert f"    {UNSAFE_PARENT}: ../evil0.py, ../evil1.py, ../evil2.py, ../evil3.py, "\
        "../evil4.py and 2 more" in lines
    assert f"    {UNSAFE_ABSOLUTE}: /etc/evil.py" in lines
    assert f"    {UNSAFE_DRIVE}: C:/evil.py" in lines


def test_unsafe_wheel_matched_by_a_glob_is_refused_not_skipped(tmp_path: Path) -> None:
    path = make_wheel(tmp_path / "dist", "pkg", files={"pkg/__init__.py": "", "../x.py": ""})
    message = refusal(lambda: collect_wheels(["dist/*.whl"], tmp_path))
    assert f"Wheel {path} has entries that are not plain relative paths" in message
    assert f"{UNSAFE_PARENT}: ../x.py" in message
    assert "Given as: --pyodide-wheel dist/*.whl" in message


@pytest.mark.parametrize(
    ("tag", "wheel_tags"),
    [
        # the example: a renamed manylinux wheel
        ("py3-none-any", ["cp314-cp314-manylinux_2_17_x86_64"]),
        (WASM_TAG, ["py3-none-any"]),
        (WASM_TAG, ["cp313-cp313-pyemscripten_2025_0_wasm32"]),
        ("py2.py3-none-any", ["py3-none-any"]),
        ("py3-none-any", ["py3-none-any", "cp314-cp314-win_amd64"]),
    ],
)
def test_wheel_file_tags_disagreeing_with_the_name_are_refused(
    tmp_path: Path, tag: str, wheel_tags: list[str]
) -> None:
    path = make_wheel(tmp_path, "pkg", tag=tag, wheel_tags=wheel_tags)
    message = refusal(lambda: check_wheel(path))
    in_name = ", ".join(sorted(str(t) for t in parse_tag(tag)))
    assert message == MSG_TAG_MISMATCH.format(
        wheel=path, in_name=in_name, member="pkg-1.0.dist-info/WHEEL",
        in_wheel=", ".join(sorted(wheel_tags)),
    )
    assert "`wheel tags`" in message


def test_renamed_manylinux_wheel_with_an_elf_module_is_refused(tmp_path: Path) -> None:
    """Issue 12's example: named py3-none-any, WHEEL says manylinux, holds an ELF .so."""
    files: dict[str, str | bytes] = {"pkg/__init__.py": "", "pkg/_c.so": ELF}
    path = make_wheel(
        tmp_path, "pkg", files=files, wheel_tags=["cp314-cp314-manylinux_2_17_x86_64"]
    )
    message = refusal(lambda: collect_wheels([path.name], tmp_path))
    assert "declares cp314-cp314-manylinux_2_17_x86_64" in message and str(path) in message


@pytest.mark.parametrize("tag", ["py2.py3-none-any", WASM_TAG])
def test_wheel_file_tags_matching_the_name_are_accepted(tmp_path: Path, tag: str) -> None:
    expanded = [str(t) for t in parse_tag(tag)]
    build = make_wheel if tag.endswith("-any") else wasm_wheel
    info = check_wheel(build(tmp_path, "pkg", tag=tag, wheel_tags=list(reversed(expanded))))
    assert info.tags == frozenset(expanded)


def test_wheel_file_without_tag_lines_is_accepted(tmp_path: Path) -> None:
    """Nothing to disagree with; installers do not require the lines."""
    check_wheel(make_wheel(tmp_path, "pkg", wheel_tags=[]))


def test_invalid_tag_line_is_refused(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "pkg", wheel_tags=["py3-none-any", "linux"])
    assert refusal(lambda: check_wheel(path)) == MSG_BAD_WHEEL_FILE.format(
        wheel=path, member="pkg-1.0.dist-info/WHEEL", detail="has an invalid Tag 'linux'"
    )


NATIVE_BINARIES = [
    pytest.param(ELF, "Linux ELF", "Linux", id="elf"),
    pytest.param(MACHO, "macOS Mach-O", "macOS", id="macho64-le"),
    pytest.param(b"\xce\xfa\xed\xfe" + b"\x00" * 60, "macOS Mach-O", "macOS", id="macho32-le"),
    pytest.param(b"\xfe\xed\xfa\xcf" + b"\x00" * 60, "macOS Mach-O", "macOS", id="macho64-be"),
    pytest.param(b"\xfe\xed\xfa\xce" + b"\x00" * 60, "macOS Mach-O", "macOS", id="macho32-be"),
    pytest.param(b"\xca\xfe\xba\xbe" + b"\x00" * 60, "macOS universal Mach-O", "macOS", id="fat"),
    pytest.param(b"\xca\xfe\xba\xbf" + b"\x00" * 60, "macOS universal Mach-O", "macOS", id="fat64"),
    pytest.param(b"\xbe\xba\xfe\xca" + b"\x00" * 60, "macOS universal Mach-O", "macOS", id="fat-swapped"),
    pytest.param(b"MZ\x90\x00" + b"\x00" * 60, "Windows PE", "Windows", id="pe"),
]


@pytest.mark.parametrize(("binary", "kind", "system"), NATIVE_BINARIES)
@pytest.mark.parametrize("member", ["pkg/_speedups.so", f"pkg/_speedups{EXT}", "pkg.libs/libz.so.1"])
def test_pure_wheel_with_a_native_library_is_refused(
    tmp_path: Path, binary: bytes, kind: str, system: str, member: str
) -> None:
    path = make_wheel(tmp_path, "pkg", files={"pkg/__init__.py": "", member: binary})
    message = refusal(lambda: check_wheel(path))
    assert message == MSG_PURE_NATIVE.format(
        wheel=path, tags="py3-none-any", member=member, kind=kind, magic=binary[:4],
        system=system,
    )


@pytest.mark.parametrize("member", [f"pkg/_speedups{EXT}", "pkg/_speedups.abi3.so", "pkg/_c.so"])
def test_pure_wheel_with_a_webassembly_module_is_refused(tmp_path: Path, member: str) -> None:
    path = make_wheel(tmp_path, "pkg", files={"pkg/__init__.py": "", member: WASM})
    message = refusal(lambda: check_wheel(path))
    assert message == MSG_PURE_WASM.format(wheel=path, tags="py3-none-any", member=member)
    assert f"tag the wheel {NEEDED_TAG}" in message


def test_pure_wheel_may_carry_other_systems_binaries_as_data(tmp_path: Path) -> None:
    """As pip, setuptools and distlib (Windows launchers), selenium (selenium-manager for
    each OS), pulp (a solver per OS) and PyOpenGL (DLLs) do in their py3-none-any wheels:
    Pyodide neither loads nor imports these, so the wheel installs and its Python works."""
    files: dict[str, str | bytes] = {
        "pkg/__init__.py": "",
        "pkg/cli-64.exe": b"MZ\x90\x00" + b"\x00" * 60,
        "pkg/bin/linux-x86_64/tool": ELF,
        "pkg/bin/macos/tool": b"\xca\xfe\xba\xbe" + b"\x00" * 60,
        "pkg/DLLS/freeglut64.dll": b"MZ\x90\x00" + b"\x00" * 60,
        "pkg/lib/libfoo.dylib": MACHO,
        "pkg/static/app.wasm": WASM,
        "pkg/data.bin": b"MZ is just text here",
    }
    assert check_wheel(make_wheel(tmp_path, "pkg", files=files)).is_pure


@pytest.mark.parametrize(("binary", "kind", "system"), NATIVE_BINARIES)
def test_wasm_wheel_with_any_host_binary_is_refused(
    tmp_path: Path, binary: bytes, kind: str, system: str
) -> None:
    files: dict[str, str | bytes] = {"pkg/__init__.py": "", "pkg.libs/libz.so.1.3": binary}
    path = make_wheel(tmp_path, "pkg", tag=WASM_TAG, files=files)
    message = refusal(lambda: check_wheel(path))
    assert f"pkg.libs/libz.so.1.3 is a {kind} binary" in message and str(path) in message


# --- extras and duplicates ----------------------------------------------------------------


def test_declared_extras_are_kept_and_normalised(tmp_path: Path) -> None:
    make_wheel(tmp_path / "dist", "pkg", provides_extra=["test", "Test_Extra"])
    (info,) = collect_wheels(["dist/pkg-1.0-py3-none-any.whl[test, Test.Extra]"], tmp_path).wheels
    assert info.extras == ("test", "test-extra")
    assert check_wheel(info.path, ("TEST",)).extras == ("test",)


@pytest.mark.parametrize("spec", ["dist/pkg-1.0-py3-none-any.whl[tests]", "dist/*.whl[tests]"])
def test_undeclared_extra_is_refused(tmp_path: Path, spec: str) -> None:
    path = make_wheel(tmp_path / "dist", "pkg", provides_extra=["test", "docs"])
    message = refusal(lambda: collect_wheels([spec], tmp_path))
    assert f"Wheel {path} does not declare the extra 'tests'" in message
    assert "it declares: test, docs" in message


def test_undeclared_extra_in_check_wheel_is_refused(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "pkg")
    message = refusal(lambda: check_wheel(path, ("test",)))
    assert "does not declare the extra 'test'" in message and "it declares: none" in message


def test_invalid_extra_name_is_refused(tmp_path: Path) -> None:
    make_wheel(tmp_path / "dist", "pkg")
    message = refusal(lambda: collect_wheels(["dist/*.whl[te st]"], tmp_path))
    assert "'te st' is not a valid extra name" in message


def test_glob_extras_apply_to_the_wheels_declaring_them(tmp_path: Path) -> None:
    make_wheel(tmp_path / "dist", "app", provides_extra=["test"])
    make_wheel(tmp_path / "dist", "helper")
    intake = collect_wheels(["dist/*.whl[test]"], tmp_path)
    assert {w.name: w.extras for w in intake.wheels} == {"app": ("test",), "helper": ()}


def test_glob_extra_declared_by_no_wheel_is_refused(tmp_path: Path) -> None:
    make_wheel(tmp_path / "dist", "app", provides_extra=["docs"])
    make_wheel(tmp_path / "dist", "helper")
    message = refusal(lambda: collect_wheels(["dist/*.whl[test]"], tmp_path))
    assert message.startswith(
        "No wheel matched by --pyodide-wheel dist/*.whl[test] declares the extra 'test'"
    )
    assert "app-1.0-py3-none-any.whl: docs; helper-1.0-py3-none-any.whl: none" in message


def test_two_versions_in_a_directory_are_refused(tmp_path: Path) -> None:
    first = make_wheel(tmp_path / "dist", "pkg", "1.0")
    second = make_wheel(tmp_path / "dist", "pkg", "2.0")
    message = refusal(lambda: collect_wheels(["dist"], tmp_path))
    assert f"Two wheels of the project pkg were given: {first} and {second}" in message


def test_same_project_from_two_specs_is_refused(tmp_path: Path) -> None:
    pure = make_wheel(tmp_path / "a", "my_pkg")
    wasm = wasm_wheel(tmp_path / "b", "My_Pkg")
    message = refusal(lambda: collect_wheels([str(pure), "b/*.whl"], tmp_path))
    assert "project my-pkg" in message and str(pure) in message and str(wasm) in message


# --- positional command-line arguments ----------------------------------------------------


@pytest.mark.parametrize(
    "arg",
    [
        "dist/pkg-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
        "/abs/dist/pkg-1.0-py3-none-any.WHL",
        "dist/*.whl",
        "dist/[ab]*.whl",
        "dist/pkg-1.0-py3-none-any.whl[test]",
        "dist/*.whl[test,docs]",
        "out[1]/pkg-1.0-py3-none-any.whl",
    ],
)
def test_wheel_arguments_are_recognised(arg: str) -> None:
    assert wheels.is_wheel_argument(arg)


@pytest.mark.parametrize(
    "arg",
    [
        "tests",
        "tests/test_pkg.py",
        "tests/test_pkg.py::test_load[dist.whl]",
        "tests/test_pkg.py::test_whl",
        "dist/pkg.whl::test",
        "dist/pkg.whl.bak",
        "dist",
        "--pyodide-wheel=dist/pkg-1.0-py3-none-any.whl",
        "-k",
        "",
    ],
)
def test_other_arguments_are_not_wheels(arg: str) -> None:
    assert not wheels.is_wheel_argument(arg)


def test_the_wheel_modules_do_not_import_pytest() -> None:
    """The CLI and other tools use them without pytest's plugin machinery."""
    code = (
        "import sys\n"
        "import pyodide_harness.wheels, pyodide_harness.wheelspec\n"
        "import pyodide_harness.wheelcheck, pyodide_harness.tags\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
