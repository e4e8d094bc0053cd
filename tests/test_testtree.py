"""The test tree shipped into every runtime: any real project's tree packs, or says why not.

Most checks unpack the archive with ``shutil.unpack_archive``, the function Pyodide's
``unpackArchive`` calls inside the runtime, so they see what the suite will see.
"""

from __future__ import annotations

import builtins
import os
import shutil
import socket
import stat
import subprocess
import textwrap
import threading
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyodide_harness import testtree
from pyodide_harness.errors import HarnessError
from pyodide_harness.testtree import (
    ARG_OUTSIDE_ROOT,
    DEFAULT_MAX_BYTES,
    NOTE_LIST_LIMIT,
    ZIP_EARLIEST,
    ZIP_LATEST,
    TestTree,
    build_archive,
    relative_args,
)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    return root


def pack(root: Path, top_level: tuple[str, ...] = (), **kwargs: Any) -> TestTree:
    return build_archive(root, top_level, root.parent / "out" / "tests.zip", **kwargs)


def names(result: TestTree) -> set[str]:
    with zipfile.ZipFile(result.archive) as zf:
        return set(zf.namelist())


def unpacked(result: TestTree) -> Path:
    """The tree as the runtime gets it: unpacked by shutil, as Pyodide's unpackArchive does."""
    where = result.archive.parent / "unpacked"
    shutil.rmtree(where, ignore_errors=True)
    shutil.unpack_archive(result.archive, where, "zip")
    return where


def note_for(result: TestTree, path: str) -> str:
    found = [n for n in result.notes if n.startswith(f"left out {path}:")]
    assert len(found) == 1, result.notes
    return found[0]


# -- dates ------------------------------------------------------------------------------------

def test_file_dated_1970_is_stored_with_the_earliest_zip_date(tree: Path) -> None:
    """flit dates PKG-INFO 1970; zip cannot store dates before 1980."""
    old = tree / "PKG-INFO"
    old.write_text("Metadata-Version: 2.1\nName: x\n")
    os.utime(old, (0, 0))
    result = pack(tree)
    with zipfile.ZipFile(result.archive) as zf:
        assert zf.getinfo("PKG-INFO").date_time == ZIP_EARLIEST
    assert (unpacked(result) / "PKG-INFO").read_text() == "Metadata-Version: 2.1\nName: x\n"
    assert result.notes == ()


def test_dates_after_2107_are_clamped(tree: Path) -> None:
    future = tree / "future.txt"
    future.write_text("later")
    os.utime(future, (0, 7258118400))  # 2200-01-01
    result = pack(tree)
    with zipfile.ZipFile(result.archive) as zf:
        assert zf.getinfo("future.txt").date_time == ZIP_LATEST
        assert zf.read("future.txt") == b"later"


@pytest.mark.parametrize("mtime", [-1e20, -1.0, 1e20, 2.0**40])
def test_dates_the_platform_cannot_convert_are_clamped(mtime: float) -> None:
    """File systems store more than zip and time.localtime can take; none of it may crash."""
    assert testtree._zip_date(mtime) == (ZIP_LATEST if mtime > 0 else ZIP_EARLIEST)


def test_ordinary_dates_are_kept(tree: Path) -> None:
    path = tree / "tests" / "test_a.py"
    os.utime(path, (1_700_000_000, 1_700_000_000))
    with zipfile.ZipFile(pack(tree).archive) as zf:
        info = zf.getinfo("tests/test_a.py")
    assert info.date_time[:5] == testtree._zip_date(1_700_000_000)[:5]
    assert info.date_time[0] == 2023


# -- symlinks ---------------------------------------------------------------------------------

def test_symlink_to_a_file_inside_stores_the_content(tree: Path) -> None:
    (tree / "data").mkdir()
    (tree / "data" / "real.txt").write_text("real content")
    (tree / "tests" / "alias.txt").symlink_to("../data/real.txt")
    result = pack(tree)
    root = unpacked(result)
    alias = root / "tests" / "alias.txt"
    assert not alias.is_symlink()
    assert alias.read_text() == "real content"
    assert (root / "data" / "real.txt").read_text() == "real content"
    assert result.notes == ()


def test_symlink_to_a_directory_inside_copies_it_once(tree: Path) -> None:
    (tree / "data" / "sub").mkdir(parents=True)
    (tree / "data" / "sub" / "x.txt").write_text("x")
    (tree / "tests" / "data").symlink_to("../data", target_is_directory=True)
    root = unpacked(pack(tree))
    assert (root / "tests" / "data" / "sub" / "x.txt").read_text() == "x"
    assert (root / "data" / "sub" / "x.txt").read_text() == "x"


def test_symlink_loops_are_cut_with_a_note(tree: Path) -> None:
    (tree / "tests" / "up").symlink_to("..", target_is_directory=True)
    (tree / "a").mkdir()
    (tree / "b").mkdir()
    (tree / "a" / "to_b").symlink_to("../b", target_is_directory=True)
    (tree / "b" / "to_a").symlink_to("../a", target_is_directory=True)
    (tree / "self").symlink_to("self")
    result = pack(tree)
    assert "symlink to its own ancestor ./" in note_for(result, "tests/up/")
    assert "a/" in note_for(result, "a/to_b/to_a/")
    assert "b/" in note_for(result, "b/to_a/to_b/")
    assert "broken symlink" in note_for(result, "self")
    assert "tests/test_a.py" in names(result)
    assert "a/to_b/" in names(result)


def test_symlink_pointing_outside_is_left_out(tree: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "key").write_text("host key")
    (tree / "tests" / "secret.txt").symlink_to(secret)
    (tree / "tests" / "outside").symlink_to(tmp_path / "outside", target_is_directory=True)
    result = pack(tree)
    assert not any("secret" in n or "outside/" in n for n in names(result))
    with zipfile.ZipFile(result.archive) as zf:
        assert all(b"host" not in zf.read(n) for n in zf.namelist())
    note = note_for(result, "tests/secret.txt")
    assert str(secret) in note and "outside the rootdir" in note
    assert "leak host files" in note_for(result, "tests/outside")


def test_broken_symlink_is_left_out(tree: Path) -> None:
    (tree / "tests" / "gone.txt").symlink_to("nowhere.txt")
    result = pack(tree)
    assert "broken symlink (nowhere.txt" in note_for(result, "tests/gone.txt")
    assert "tests/gone.txt" not in names(result)


def test_rootdir_given_through_a_symlink(tree: Path, tmp_path: Path) -> None:
    link = tmp_path / "linked-project"
    link.symlink_to(tree, target_is_directory=True)
    (tree / "tests" / "alias.py").symlink_to("test_a.py")
    result = build_archive(link, (), tmp_path / "o.zip")
    assert {"tests/test_a.py", "tests/alias.py"} <= names(result)
    assert result.notes == ()


# -- what cannot be read or has no content ------------------------------------------------------

def test_unreadable_file_is_left_out_without_a_partial_entry(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """chmod 000 does not stop root, so the refusal is simulated where the file is opened."""
    locked = tree / "tests" / "locked.bin"
    locked.write_bytes(b"x" * 1000)
    locked.chmod(0)
    real_open = os.open

    def refusing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    result = pack(tree)
    monkeypatch.undo()
    assert note_for(result, "tests/locked.bin").endswith("cannot be read (Permission denied)")
    assert names(result) == {"tests/", "tests/test_a.py"}
    assert result.files == 1
    with zipfile.ZipFile(result.archive) as zf:
        assert zf.testzip() is None


def test_unlistable_directory_is_left_out(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tree / "private").mkdir()
    (tree / "private" / "x.txt").write_text("x")
    real_scandir = os.scandir

    def refusing_scandir(path: Any) -> Any:
        if os.fspath(path).endswith("private"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    result = pack(tree)
    monkeypatch.undo()
    assert "cannot be read (Permission denied)" in note_for(result, "private/")
    assert "private/x.txt" not in names(result)


def run_with_deadline(fn: Callable[[], TestTree]) -> TestTree:
    """Run *fn* in a thread so a blocking open fails this test instead of hanging the suite."""
    box: list[TestTree | BaseException] = []

    def target() -> None:
        try:
            box.append(fn())
        except BaseException as exc:
            box.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(120)
    assert box, "packing the tree blocked (a FIFO was opened?)"
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def test_fifo_and_socket_are_left_out_and_never_opened(tree: Path) -> None:
    os.mkfifo(tree / "tests" / "pipe")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tree / "tests" / "sock"))
        result = run_with_deadline(lambda: pack(tree))
    assert "named pipe" in note_for(result, "tests/pipe")
    assert "socket" in note_for(result, "tests/sock")
    assert names(result) == {"tests/", "tests/test_a.py"}


def test_device_file_is_left_out(tree: Path) -> None:
    try:
        os.mknod(tree / "tests" / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs CAP_MKNOD")
    result = run_with_deadline(lambda: pack(tree))
    assert "device file" in note_for(result, "tests/null")
    assert "tests/null" not in names(result)


def test_file_swapped_for_a_fifo_after_the_walk_is_not_waited_on(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tree / "tests" / "data.txt"
    target.write_text("data")
    real_store = testtree._store

    def swap_then_store(zf: zipfile.ZipFile, entry: Any, notes: Any) -> int:
        if entry.arcname == "tests/data.txt" and target.is_file():
            target.unlink()
            os.mkfifo(target)
        return real_store(zf, entry, notes)

    monkeypatch.setattr(testtree, "_store", swap_then_store)
    result = run_with_deadline(lambda: pack(tree))
    assert "not a regular file" in note_for(result, "tests/data.txt")
    assert "tests/data.txt" not in names(result)


# -- names ------------------------------------------------------------------------------------

def test_name_that_is_not_utf8_is_left_out_with_a_note(tree: Path) -> None:
    raw = os.path.join(os.fsencode(tree / "tests"), b"caf\xe9.txt")
    with open(raw, "wb") as f:
        f.write(b"latin-1 name")
    result = pack(tree)
    assert "not UTF-8" in note_for(result, "tests/caf\\xe9.txt")
    assert names(result) == {"tests/", "tests/test_a.py"}


def test_utf8_names_are_stored_faithfully(tree: Path) -> None:
    (tree / "tests" / "café ☕.txt").write_text("utf-8 name")
    root = unpacked(pack(tree))
    assert (root / "tests" / "café ☕.txt").read_text() == "utf-8 name"


def test_names_the_unpacker_skips_are_left_out_with_a_note(tree: Path) -> None:
    """shutil.unpack_archive silently drops any name containing '..'; say so instead."""
    (tree / "tests" / "v1..2.json").write_text("{}")
    result = pack(tree)
    assert "skips names containing '..'" in note_for(result, "tests/v1..2.json")
    assert "tests/v1..2.json" not in names(result)


def test_empty_directories_are_kept(tree: Path) -> None:
    (tree / "tests" / "output").mkdir()
    assert (unpacked(pack(tree)) / "tests" / "output").is_dir()


# -- what stays out ---------------------------------------------------------------------------

def test_package_sources_stay_out(tmp_path: Path) -> None:
    root = tmp_path / "project"
    for path in ("src/pkg/__init__.py", "pkg/__init__.py", "flat.py", "tests/test_pkg.py",
                 "tests/pkg_data/__init__.py", "docs/pkg.txt"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("")
    result = pack(root, ("pkg", "flat"))
    assert result.excluded == ("flat.py", "pkg/", "src/pkg/")
    assert {"tests/test_pkg.py", "tests/pkg_data/__init__.py", "docs/pkg.txt", "src/"} <= names(result)
    assert not any(n.startswith(("pkg/", "src/pkg/")) or n == "flat.py" for n in names(result))
    assert "the wheel under test installs pkg" in note_for(result, "pkg/")


def test_clutter_and_run_outputs_stay_out(tree: Path) -> None:
    for path in (".tox/py/x", ".nox/s/x", "htmlcov/index.html", ".coverage", ".coverage.host.1",
                 "coverage.xml", ".git/HEAD", ".venv/bin/python", "tests/__pycache__/a.pyc",
                 "build/lib/x.py", "dist/x-1.0.tar.gz", "x.egg-info/PKG-INFO", "ext.so",
                 "reports/run1/results.json", "junit.xml"):
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text("")
    (tree / "tests" / "data.zip").write_bytes(b"PK")  # test data, not clutter
    (tree / ".coveragerc").write_text("[run]\n")
    result = pack(tree, exclude=[tree / "reports", tree / "junit.xml"])
    assert names(result) == {"tests/", "tests/test_a.py", "tests/data.zip", ".coveragerc"}
    assert "an output of this run" in note_for(result, "reports/")
    assert "an output of this run" in note_for(result, "junit.xml")
    [clutter] = [n for n in result.notes if "VCS, environment, cache and build" in n]
    assert clutter.startswith("left out 13 VCS, environment, cache and build items")


def test_the_archive_from_an_earlier_run_is_not_packed(tree: Path) -> None:
    dest = tree / ".harness" / "tests.zip"
    build_archive(tree, (), dest)
    again = build_archive(tree, (), dest)
    assert ".harness/tests.zip" not in names(again)


def test_cachedir_tagged_directories_stay_out(tree: Path) -> None:
    (tree / "cache").mkdir()
    (tree / "cache" / "CACHEDIR.TAG").write_bytes(testtree.CACHEDIR_SIGNATURE + b"\n# a cache\n")
    (tree / "cache" / "blob").write_text("x")
    (tree / "notcache").mkdir()
    (tree / "notcache" / "CACHEDIR.TAG").write_text("something else")
    result = pack(tree)
    assert "CACHEDIR.TAG" in note_for(result, "cache/")
    assert "notcache/CACHEDIR.TAG" in names(result)
    assert not any(n.startswith("cache/") for n in names(result))


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@needs_git
def test_gitignore_is_applied_by_git_itself(tree: Path) -> None:
    git(tree, "init", "-q")
    (tree / ".gitignore").write_text("*.log\n!keep.log\n/scratch/\n")
    (tree / "tests" / ".gitignore").write_text("generated_*\n")
    for path in ("a.log", "keep.log", "scratch/big.bin", "tests/generated_1.txt",
                 "tests/data/b.log", "tracked.log"):
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text("x")
    git(tree, "add", "-f", "tracked.log")  # tracked files are never ignored, as git says
    result = pack(tree)
    got = names(result)
    assert {"keep.log", "tracked.log", "tests/test_a.py", ".gitignore", "tests/.gitignore"} <= got
    assert not {"a.log", "scratch/big.bin", "tests/generated_1.txt", "tests/data/b.log"} & got
    assert [n for n in result.notes if ".gitignore" in n] == [
        "left out 4 paths .gitignore ignores (ignored by .gitignore): a.log, scratch/, "
        "tests/data/, ..."  # git names a directory that holds only ignored files
    ]


@needs_git
def test_gitignore_of_a_checkout_that_ignores_the_rootdir_does_not_apply(tmp_path: Path) -> None:
    """An sdist unpacked into a repository's ignored scratch folder is not that checkout."""
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("scratch/\n*.txt\n")
    root = tmp_path / "scratch" / "pkg-1.0"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "data.txt").write_text("x")
    result = build_archive(root, (), tmp_path / "o.zip")
    assert "tests/data.txt" in names(result)
    assert result.notes == ()


@needs_git
def test_rootdir_in_a_subdirectory_of_the_checkout(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("*.tmp\n")
    root = tmp_path / "sub"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "a.tmp").write_text("x")
    (root / "tests" / "a.txt").write_text("x")
    result = build_archive(root, (), tmp_path / "o.zip")
    assert names(result) == {"tests/", "tests/a.txt"}


def test_without_git_the_tree_packs_silently(tree: Path, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    (tree / ".gitignore").write_text("*.log\n")
    (tree / "a.log").write_text("x")
    (tree / ".git").mkdir()
    empty = tmp_path / "nobin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = pack(tree)
    assert "a.log" in names(result)
    assert not any("git" in n and "VCS" not in n for n in result.notes), result.notes


def test_a_failing_git_is_one_note(tree: Path, monkeypatch: pytest.MonkeyPatch,
                                   tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text("#!/bin/sh\necho 'fatal: detected dubious ownership in repository' >&2\nexit 128\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    result = pack(tree)
    assert result.notes == (
        testtree.GIT_FAILED.format(detail="fatal: detected dubious ownership in repository"),)
    assert "tests/test_a.py" in names(result)


# -- notes ------------------------------------------------------------------------------------

def test_many_similar_items_are_one_line(tree: Path) -> None:
    for i in range(50):
        os.mkfifo(tree / "tests" / f"pipe{i:02}")
    for i in range(NOTE_LIST_LIMIT):
        (tree / "tests" / f"broken{i}").symlink_to(f"missing{i}")
    result = run_with_deadline(lambda: pack(tree))
    assert result.notes == (
        *(f"left out tests/broken{i}: broken symlink (missing{i}: No such file or directory)"
          for i in range(NOTE_LIST_LIMIT)),
        "left out 50 FIFOs (opening one would block): tests/pipe00, tests/pipe01, tests/pipe02, ...",
    )


# -- size -------------------------------------------------------------------------------------

def test_a_tree_above_the_limit_names_its_biggest_directories_before_reading_any_file(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = {"data/images/raw": 5000, "data/small": 1000, "docs": 700, "tests/fixtures": 2500,
             "bench": 400, "misc": 100}
    for directory, size in sizes.items():
        (tree / directory).mkdir(parents=True)
        (tree / directory / "blob.bin").write_bytes(b"\0" * size)
    data_files = {str(p) for p in tree.rglob("*") if p.is_file()}
    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else "")
        return real_open(path, *args, **kwargs)

    def spy_os_open(path: Any, *args: Any, **kwargs: Any) -> int:
        opened.append(os.fsdecode(path))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    with pytest.raises(HarnessError) as info:
        pack(tree, max_bytes=9000)
    monkeypatch.undo()
    assert not data_files & set(opened)
    message = str(info.value)
    listed = [line.split() for line in message.splitlines() if line.startswith("  ")]
    # data/ (6000 bytes) is mostly data/images/raw/ (5000, 83%): both say something;
    # data/images/ (all of it data/images/raw/) and tests/ (99% tests/fixtures/) do not.
    assert [parts[-1] for parts in listed] == [
        "data/", "data/images/raw/", "tests/fixtures/", "data/small/", "docs/"]
    assert [" ".join(parts[:2]) for parts in listed] == [
        testtree._size(n) for n in (6000, 5000, 2500, 1000, 700)]
    total = sum(sizes.values()) + len("def test_a():\n    pass\n")
    assert f"holds {testtree._size(total)} in 7 files" in message
    assert f"limit of {testtree._size(9000)}" in message
    assert "--rootdir" in message and ".gitignore" in message
    assert not (tree.parent / "out" / "tests.zip").exists()


def test_default_limit_is_a_sensible_size() -> None:
    assert 50 * 2**20 <= DEFAULT_MAX_BYTES <= 1024 * 2**20


def test_twenty_thousand_small_files_pack_with_git_asked_once(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for d in range(100):
        folder = tree / "tests" / "data" / f"d{d:03}"
        folder.mkdir(parents=True)
        for f in range(200):
            (folder / f"f{f:03}.txt").write_text(f"{d}-{f}")
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(cmd: list[str], *args: Any, **kwargs: Any) -> Any:
        calls.append(cmd)
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting_run)
    result = pack(tree)
    assert result.files == 20_001
    assert len(calls) <= 2  # check-ignore of the rootdir, then one ls-files for the tree
    with zipfile.ZipFile(result.archive) as zf:
        assert zf.read("tests/data/d099/f199.txt") == b"99-199"
        assert len(zf.namelist()) == 20_001 + 102  # files; tests/, tests/data/ and its 100


# -- writing ----------------------------------------------------------------------------------

def test_a_crash_while_writing_leaves_no_half_archive(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tree.parent / "out" / "tests.zip"
    first = pack(tree)
    before = dest.read_bytes()
    (tree / "tests" / "test_b.py").write_text("")

    def crash(*args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(testtree, "_store", crash)
    with pytest.raises(KeyboardInterrupt):
        pack(tree)
    assert first.archive == dest
    assert dest.read_bytes() == before
    assert sorted(p.name for p in dest.parent.iterdir()) == ["tests.zip"]


def test_size_and_files_count_what_was_stored(tree: Path) -> None:
    (tree / "tests" / "data.bin").write_bytes(b"\1" * 3000)
    result = pack(tree)
    assert (result.files, result.size) == (2, 3000 + len("def test_a():\n    pass\n"))


# -- arguments --------------------------------------------------------------------------------

def test_relative_args_map_paths_and_node_ids(tree: Path) -> None:
    got = relative_args(["test_a.py::test_a", ".", "../tests"], tree / "tests", tree)
    assert got == ["tests/test_a.py::test_a", "tests", "tests"]
    assert relative_args([str(tree)], tree, tree) == ["."]


def test_relative_args_refuse_paths_outside_the_rootdir(tree: Path) -> None:
    with pytest.raises(HarnessError) as info:
        relative_args(["../elsewhere"], tree, tree)
    assert str(info.value) == ARG_OUTSIDE_ROOT.format(arg="../elsewhere", rootdir=tree)


# -- end to end -------------------------------------------------------------------------------

RUNTIME_TEST = '''
import os
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_file_dated_1970_arrived():
    assert (ROOT / "PKG-INFO").read_text() == "Metadata-Version: 2.1\\nName: harnessdemo\\n"


def test_symlinked_data_file_reads_as_its_target():
    alias = ROOT / "tests" / "data" / "alias.json"
    assert alias.read_text() == '{"answer": 42}'
    assert (ROOT / "data" / "values.json").read_text() == '{"answer": 42}'


def test_symlinked_data_directory_arrived():
    assert (ROOT / "tests" / "shared" / "values.json").read_text() == '{"answer": 42}'


def test_nothing_from_outside_arrived():
    assert not (ROOT / "tests" / "leak.txt").exists()
'''


@pytest.mark.node
def test_dated_and_symlinked_files_reach_the_runtime(
    suite: Callable[..., Path], run: Callable[..., pytest.RunResult], tmp_path: Path
) -> None:
    wheel = suite({"tests/test_tree.py": textwrap.dedent(RUNTIME_TEST),
                   "data/values.json": '{"answer": 42}',
                   "PKG-INFO": "Metadata-Version: 2.1\nName: harnessdemo\n"})
    project = Path.cwd()
    os.utime(project / "PKG-INFO", (0, 0))
    (project / "tests" / "data").mkdir()
    (project / "tests" / "data" / "alias.json").symlink_to("../../data/values.json")
    (project / "tests" / "shared").symlink_to("../data", target_is_directory=True)
    (tmp_path / "secret.txt").write_text("host only")
    (project / "tests" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    result = run(f"--pyodide-wheel={wheel}", "-v")
    result.assert_outcomes(passed=4)
    assert result.ret == 0


def test_files_are_deflated_at_the_fast_level(tree: Path) -> None:
    """Level 1 on every supported host Python (the ZipInfo attribute moved in 3.13)."""
    text = b"".join(b"line %d of a test data file\n" % (i * 7919 % 1000) for i in range(20000))
    (tree / "tests" / "big.txt").write_bytes(text)
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    fast = len(compressor.compress(text) + compressor.flush())
    with zipfile.ZipFile(pack(tree).archive) as zf:
        info = zf.getinfo("tests/big.txt")
        assert zf.read(info) == text
    assert info.compress_type == zipfile.ZIP_DEFLATED
    assert info.compress_size == fast
    assert len(zlib.compress(text, 9)) != fast  # the levels do differ on this data
