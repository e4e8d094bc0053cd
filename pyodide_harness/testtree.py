"""What of the project goes into the runtime: the test tree, never the package source.

Suites read data relative to their own files, even from outside the test
directory (``Path(__file__).parent.parent / "data"``), so the archive keeps the
rootdir's layout. Inside every runtime Pyodide's ``unpackArchive`` unpacks it
with ``shutil.unpack_archive``, which writes regular files and directories only
(no symlinks, no modes, no dates) and skips any name containing ``..``; what
goes into the zip is shaped by that.

What it leaves out gets one line in :attr:`TestTree.notes`, or one line per kind
when there are more than a few of a kind:

- the importable names the wheel under test installs (``src/pkg``, ``pkg/``, a
  flat ``pkg.py``), because a source copy there would shadow the installed wheel;
- VCS data, virtual environments, caches, build and coverage outputs, native
  binaries, directories tagged with ``CACHEDIR.TAG``, the run's own outputs
  (``exclude``) and, in a git checkout, whatever git says the ignore rules ignore;
- what the runtime cannot hold or the host must not give away: symlinks that
  point outside the rootdir (they would leak host files), broken symlinks and
  symlink loops, FIFOs (opening one blocks), sockets, device files, unreadable
  files, names that are not UTF-8 or that the unpacker skips.

Symlinks inside the tree are followed and their content is stored under the
link's name, a directory link once per link (loops are cut): the unpacker makes
no symlinks, and the copy reads the same as the link would.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import HarnessError

#: Every runtime (and every worker) holds the whole tree several times over: the
#: zip as read or fetched, the copy Pyodide's unpacker writes to its in-memory
#: file system before unpacking, and the unpacked files. 200 MiB of files stays
#: well within what a browser tab or Node process holds that way, and is far more
#: than a suite with its data needs; a tree above it almost always holds
#: something else (datasets, a checkout's build products, a home directory).
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
#: How long git may take to list the ignored paths before the tree is packed without them.
GIT_TIMEOUT_SECONDS = 60
#: Left-out items of one kind listed one per line up to this many; more are summed up in one line.
NOTE_LIST_LIMIT = 3

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", ".direnv", "__pycache__",
        ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "node_modules",
        "build", "dist", ".eggs", "wheelhouse", ".pyodide-xbuildenv", ".idea", ".vscode",
        "htmlcov", ".benchmarks",
    }
)
# Archives of test data (*.zip, *.tar.gz) are kept: suites of archive and file
# format libraries read them; built wheels and sdists live in dist/ (left out above).
SKIP_FILE_PATTERNS = (
    "*.pyc", "*.pyo", "*.whl", "*.so", "*.pyd", "*.dylib", "*.dll", "*.o", "*.a", "*.obj",
    ".coverage", ".coverage.*", "coverage.xml",
    ".git",  # the pointer file of a submodule or worktree
)
_SKIP_FILE = re.compile("|".join(fnmatch.translate(p) for p in SKIP_FILE_PATTERNS))
#: The first bytes of a CACHEDIR.TAG file (https://bford.info/cachedir/).
CACHEDIR_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"
# Variables that would point git at another repository than the rootdir's.
_GIT_LOCATION_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR",
                      "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE")
# Zip dates run from 1980 to 2107 (two-second steps); other file dates are clamped.
ZIP_EARLIEST = (1980, 1, 1, 0, 0, 0)
ZIP_LATEST = (2107, 12, 31, 23, 59, 58)
COMPRESS_LEVEL = 1  # the tree is packed for every run: speed over size

ARG_OUTSIDE_ROOT = (
    "{arg} is outside the rootdir {rootdir}; only the rootdir's tree goes into the runtime. "
    "Run pytest from the project root or pass --rootdir."
)
TREE_TOO_BIG = (
    "The test tree under {rootdir} holds {size} in {files} files, above the limit of {limit}: "
    "all of it would be copied into every runtime. The biggest directories:\n{biggest}\n"
    "Narrow it: run pytest from the directory holding the tests, add what the tests do not "
    "need to .gitignore, or pass --rootdir=<the directory holding the tests>."
)
GIT_FAILED = "did not apply .gitignore: git failed ({detail})"
NOTE_ONE = "left out {path}: {why}"
NOTE_MANY = "left out {count} {what} ({why}): {examples}, ..."


@dataclass(frozen=True)
class _Reason:
    what: str  # plural noun phrase, for the summing-up line
    why: str  # for one item; may use {detail}
    why_many: str  # for the summing-up line


WHEEL_PROVIDES = _Reason(
    "package source copies", "the wheel under test installs {detail}; this copy would shadow it",
    "the wheel under test installs them; a source copy would shadow it")
RUN_OUTPUT = _Reason("outputs of this run", "an output of this run", "outputs of this run")
CLUTTER = _Reason(
    "VCS, environment, cache and build items", "VCS data, environment, cache or build output",
    "not part of a test tree")
CACHE_TAGGED = _Reason("cache directories", "tagged as a cache by CACHEDIR.TAG",
                       "tagged as caches by CACHEDIR.TAG")
GIT_IGNORED = _Reason("paths .gitignore ignores", "ignored by .gitignore", "ignored by .gitignore")
LINK_OUTSIDE = _Reason(
    "symlinks to outside the rootdir",
    "symlink to {detail}, outside the rootdir; its content would leak host files into the runtime",
    "their content would leak host files into the runtime")
LINK_BROKEN = _Reason("broken symlinks", "broken symlink ({detail})", "nothing to copy")
LINK_LOOP = _Reason("symlink loops", "symlink to its own ancestor {detail}; following it never ends",
                    "following them never ends")
FIFO = _Reason("FIFOs", "a FIFO (named pipe); opening it would block", "opening one would block")
SOCKET = _Reason("sockets", "a socket; it holds no content to copy", "no content to copy")
DEVICE = _Reason("device files", "a device file, not data", "not data")
SPECIAL = _Reason("special files", "not a regular file, directory or symlink", "not regular files")
UNREADABLE = _Reason("unreadable items", "cannot be read ({detail})", "cannot be read")
NOT_UTF8 = _Reason(
    "names that are not UTF-8", "its name is not UTF-8; the runtime's file system holds UTF-8 names",
    "the runtime's file system holds UTF-8 names")
DOTDOT = _Reason(
    "names containing '..'", "Pyodide's unpacker (shutil.unpack_archive) skips names containing '..'",
    "Pyodide's unpacker skips such names")
_ORDER = (WHEEL_PROVIDES, RUN_OUTPUT, CLUTTER, CACHE_TAGGED, GIT_IGNORED, LINK_OUTSIDE, LINK_BROKEN,
          LINK_LOOP, FIFO, SOCKET, DEVICE, SPECIAL, UNREADABLE, NOT_UTF8, DOTDOT)


@dataclass(frozen=True)
class TestTree:
    """The packed tree: the zip, what is in it, and one line per kind of thing left out."""

    __test__ = False  # not a pytest test class, though its name starts with Test

    archive: Path
    files: int
    size: int  # bytes of file content stored
    excluded: tuple[str, ...]  # rootdir-relative paths left out because the wheel provides them
    notes: tuple[str, ...] = ()  # one line per left-out item or kind of item, for the user


@dataclass
class _Notes:
    items: dict[_Reason, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, reason: _Reason, path: str, detail: str = "") -> None:
        self.items[reason].append((path, detail))

    def lines(self) -> tuple[str, ...]:
        out = []
        for reason in _ORDER:
            found = self.items.get(reason, [])
            if len(found) <= NOTE_LIST_LIMIT:
                out += [NOTE_ONE.format(path=p, why=reason.why.format(detail=d)) for p, d in found]
            else:
                examples = ", ".join(p for p, _ in found[:NOTE_LIST_LIMIT])
                out.append(NOTE_MANY.format(count=len(found), what=reason.what,
                                            why=reason.why_many, examples=examples))
        return tuple(out)


@dataclass(frozen=True)
class _Entry:
    arcname: str  # ends with "/" for a directory
    source: str  # what to open (links are followed when it is opened)
    size: int
    mtime: float
    mode: int


def _shown(name: str) -> str:
    """A path as the user can read it: undecodable bytes and control characters escaped."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return text if text.isprintable() else repr(text)[1:-1]


def _is_package_source(name: str, top_level: frozenset[str]) -> bool:
    stem = name.split(".", 1)[0]
    if name in top_level:  # a package directory
        return True
    return stem in top_level and (name.endswith(".py") or name.endswith((".so", ".pyd")))


def _git(root: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    env["LC_ALL"] = "C"  # the "not a git repository" message is matched in English
    return subprocess.run(["git", "-C", root, *args], capture_output=True, env=env,
                          timeout=GIT_TIMEOUT_SECONDS, check=False)


def _git_ignored(root: str) -> tuple[frozenset[str], str | None]:
    """The rootdir-relative paths git ignores there (directories end in "/"), and a note.

    git is the maintained implementation of the ignore rules (nested .gitignore files,
    negation, info/exclude, core.excludesFile), asked twice for the whole tree, never
    per file. No git, or no checkout, means nothing is ignored, silently. A checkout
    that ignores the rootdir itself (an sdist unpacked into some repository's ignored
    scratch folder) is not the project's checkout, so its rules do not apply either
    (and git 2.39's ls-files fails there with an internal error).
    """
    try:
        inside = _git(root, "check-ignore", "-q", ".")
        if inside.returncode == 0:
            return frozenset(), None
        proc = inside if inside.returncode != 1 else _git(
            root, "ls-files", "--others", "--ignored", "--exclude-standard", "--directory", "-z")
    except FileNotFoundError:
        return frozenset(), None
    except (OSError, subprocess.SubprocessError) as exc:
        return frozenset(), GIT_FAILED.format(detail=exc)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        if "not a git repository" in err:
            return frozenset(), None
        first = err.splitlines()[0] if err else f"exit status {proc.returncode}"
        return frozenset(), GIT_FAILED.format(detail=first)
    return frozenset(os.fsdecode(p) for p in proc.stdout.split(b"\0") if p), None


def _within(path: str, prefixes: frozenset[str]) -> bool:
    """Is *path* (rootdir-relative, "/" separated) one of *prefixes* or below one of them?"""
    parts = path.rstrip("/").split("/")
    for i in range(1, len(parts) + 1):
        head = "/".join(parts[:i])
        if head in prefixes or head + "/" in prefixes:
            return True
    return False


def _relative(path: str, root: str) -> str | None:
    """*path* (real, absolute) relative to *root* with "/" separators; None when outside."""
    try:
        if os.path.commonpath([root, path]) != root:
            return None
    except ValueError:  # another drive
        return None
    rel = os.path.relpath(path, root)
    return "" if rel == "." else rel.replace(os.sep, "/")


def _cache_tagged(directory: str) -> bool:
    try:
        with open(os.path.join(directory, "CACHEDIR.TAG"), "rb") as f:
            return f.read(len(CACHEDIR_SIGNATURE)) == CACHEDIR_SIGNATURE
    except OSError:
        return False


class _Walker:
    """Decides, without reading any file, what goes into the archive."""

    def __init__(self, root: str, top_level: frozenset[str], exclude: frozenset[str],
                 ignored: frozenset[str], notes: _Notes) -> None:
        self.root = root
        self.top_level = top_level
        self.exclude = exclude
        self.ignored = ignored
        self.notes = notes
        self.entries: list[_Entry] = []
        self.excluded: list[str] = []

    def walk(self) -> None:
        root_stat = os.stat(self.root)
        # (directory to list, its name in the archive, its real rootdir-relative path,
        #  the (device, inode) of it and its real ancestors, to cut symlink loops)
        stack = [(self.root, "", "", frozenset({(root_stat.st_dev, root_stat.st_ino)}))]
        while stack:
            directory, arc_prefix, real_prefix, ancestors = stack.pop()
            try:
                with os.scandir(directory) as it:
                    children = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                self.notes.add(UNREADABLE, (_shown(arc_prefix) or "./"), exc.strerror or str(exc))
                continue
            subdirs = []
            for child in children:
                found = self._visit(child, arc_prefix, real_prefix, ancestors)
                if found is not None:
                    subdirs.append(found)
            stack.extend(reversed(subdirs))

    def _visit(self, entry: os.DirEntry[str], arc_prefix: str, real_prefix: str,
               ancestors: frozenset[tuple[int, int]]
               ) -> tuple[str, str, str, frozenset[tuple[int, int]]] | None:
        """Note or record one directory entry; a directory to descend into is returned."""
        name = entry.name
        arc = arc_prefix + name
        shown = _shown(arc)
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            self.notes.add(NOT_UTF8, shown)
            return None
        if ".." in name:
            self.notes.add(DOTDOT, shown)
            return None
        real = real_prefix + name
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            self.notes.add(UNREADABLE, shown, exc.strerror or str(exc))
            return None
        is_dir_hint = stat.S_ISDIR(st.st_mode)
        if self._left_out_by_location(real, is_dir_hint, shown):
            return None
        source = entry.path
        if stat.S_ISLNK(st.st_mode):
            try:
                st = os.stat(entry.path)
            except OSError as exc:
                self.notes.add(LINK_BROKEN, shown, f"{os.readlink(entry.path)}: "
                                                   f"{exc.strerror or exc}")
                return None
            target = os.path.realpath(entry.path)
            target_rel = _relative(target, self.root)
            if target_rel is None:
                self.notes.add(LINK_OUTSIDE, shown, _shown(target))
                return None
            is_dir = stat.S_ISDIR(st.st_mode)
            if _within(target_rel, self.exclude):
                self.notes.add(RUN_OUTPUT, shown + ("/" if is_dir else ""))
                return None
            if _within(target_rel, self.ignored):
                self.notes.add(GIT_IGNORED, shown + ("/" if is_dir else ""))
                return None
            source = target
            real = target_rel
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            return self._directory(name, arc, real, source, st, ancestors)
        if stat.S_ISREG(mode):
            if _SKIP_FILE.match(name):
                self.notes.add(CLUTTER, shown)
            elif _is_package_source(name, self.top_level):
                self.excluded.append(arc)
                self.notes.add(WHEEL_PROVIDES, shown, name.split(".", 1)[0])
            else:
                self.entries.append(_Entry(arc, entry.path, st.st_size, st.st_mtime, mode))
            return None
        kind = (FIFO if stat.S_ISFIFO(mode) else SOCKET if stat.S_ISSOCK(mode)
                else DEVICE if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else SPECIAL)
        self.notes.add(kind, shown)
        return None

    def _left_out_by_location(self, real: str, is_dir: bool, shown: str) -> bool:
        shown_dir = shown + ("/" if is_dir else "")
        if real in self.exclude:
            self.notes.add(RUN_OUTPUT, shown_dir)
            return True
        if real in self.ignored or (is_dir and real + "/" in self.ignored):
            self.notes.add(GIT_IGNORED, shown_dir)
            return True
        return False

    def _directory(self, name: str, arc: str, real: str, source: str, st: os.stat_result,
                   ancestors: frozenset[tuple[int, int]]
                   ) -> tuple[str, str, str, frozenset[tuple[int, int]]] | None:
        shown = _shown(arc) + "/"
        if name in SKIP_DIRS or name.endswith(".egg-info"):
            self.notes.add(CLUTTER, shown)
            return None
        if _is_package_source(name, self.top_level) and os.path.exists(
                os.path.join(source, "__init__.py")):
            self.excluded.append(arc + "/")
            self.notes.add(WHEEL_PROVIDES, shown, name)
            return None
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            self.notes.add(LINK_LOOP, shown, (real or ".") + "/")
            return None
        if _cache_tagged(source):
            self.notes.add(CACHE_TAGGED, shown)
            return None
        self.entries.append(_Entry(arc + "/", source, 0, st.st_mtime, st.st_mode))
        return source, arc + "/", real + "/", ancestors | {key}


def _zip_date(mtime: float) -> tuple[int, int, int, int, int, int]:
    """The file's local date as zip stores it, clamped to the years zip can hold."""
    try:
        t = time.localtime(mtime)
    except (OverflowError, OSError, ValueError):
        return ZIP_LATEST if mtime > 0 else ZIP_EARLIEST
    if t.tm_year < ZIP_EARLIEST[0]:
        return ZIP_EARLIEST
    if t.tm_year > ZIP_LATEST[0]:
        return ZIP_LATEST
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def _zip_info(entry: _Entry) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(entry.arcname, _zip_date(entry.mtime))
    info.external_attr = (stat.S_IMODE(entry.mode) | stat.S_IFMT(entry.mode)) << 16
    if entry.arcname.endswith("/"):
        info.external_attr |= 0x10  # the MS-DOS directory flag, as zipfile writes it
        return info
    info.compress_type = zipfile.ZIP_DEFLATED
    if sys.version_info >= (3, 13):
        info.compress_level = COMPRESS_LEVEL
    else:  # ZipFile.write sets the same private attribute before 3.13
        info._compresslevel = COMPRESS_LEVEL  # type: ignore[attr-defined]
    return info


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _store(zf: zipfile.ZipFile, entry: _Entry, notes: _Notes) -> int:
    """Add one entry; return the bytes stored (-1 when it could not be read)."""
    info = _zip_info(entry)
    if entry.arcname.endswith("/"):
        zf.writestr(info, b"")
        return 0
    # O_NONBLOCK: a file swapped for a FIFO since the walk must not block the open.
    try:
        fd = os.open(entry.source, _OPEN_FLAGS)
    except OSError as exc:
        notes.add(UNREADABLE, _shown(entry.arcname), exc.strerror or str(exc))
        return -1
    with os.fdopen(fd, "rb") as src:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            notes.add(SPECIAL, _shown(entry.arcname))
            return -1
        info.file_size = st.st_size
        size = 0
        with zf.open(info, "w", force_zip64=st.st_size > zipfile.ZIP64_LIMIT // 2) as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
                size += len(chunk)
        return size


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.1f} KiB"


def _biggest(entries: Sequence[_Entry], count: int = 5) -> list[tuple[str, int]]:
    """The directories (archive names) holding the most bytes.

    A directory with one subdirectory that holds at least 90% of its bytes is not
    listed: that subdirectory says more. Files directly in the rootdir count as one.
    """
    totals: dict[str, int] = defaultdict(int)
    largest_child: dict[str, int] = defaultdict(int)
    for e in entries:
        parts = e.arcname.rstrip("/").split("/")[:-1]
        if e.arcname.endswith("/"):
            continue
        if not parts:
            totals["(files directly in the rootdir)"] += e.size
        for i in range(1, len(parts) + 1):
            totals["/".join(parts[:i]) + "/"] += e.size
    for path, total in totals.items():
        parent = path.rstrip("/").rpartition("/")[0]
        if parent:
            largest_child[parent + "/"] = max(largest_child[parent + "/"], total)
    shown = [(p, t) for p, t in totals.items() if largest_child[p] < 0.9 * t]
    shown.sort(key=lambda pt: (-pt[1], pt[0]))
    return shown[:count]


def build_archive(rootdir: Path, top_level: Iterable[str], dest: Path, *,
                  exclude: Sequence[Path] = (), max_bytes: int = DEFAULT_MAX_BYTES) -> TestTree:
    """Zip the rootdir's tree, minus the package under test and clutter, into ``dest``.

    *exclude* names this run's own outputs (report directory, JUnit XML) by absolute
    path. The sizes are summed before any file is read, and a tree above *max_bytes*
    stops the run naming its biggest directories. ``dest`` appears complete or not at
    all: the zip is written beside it and renamed.
    """
    root = os.path.realpath(rootdir)
    dest = Path(os.path.abspath(dest))
    excluded_rel = frozenset(
        rel for p in (*exclude, dest) if (rel := _relative(os.path.realpath(p), root))
    )
    notes = _Notes()
    ignored, git_note = _git_ignored(root)
    walker = _Walker(root, frozenset(top_level), excluded_rel, ignored, notes)
    walker.walk()
    total = sum(e.size for e in walker.entries)
    if total > max_bytes:
        biggest = "\n".join(f"  {_size(n):>10}  {p}" for p, n in _biggest(walker.entries))
        raise HarnessError(TREE_TOO_BIG.format(
            rootdir=rootdir, size=_size(total), limit=_size(max_bytes), biggest=biggest,
            files=sum(1 for e in walker.entries if not e.arcname.endswith("/"))))
    dest.parent.mkdir(parents=True, exist_ok=True)
    files = size = 0
    fd, part = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as zf:
            for entry in walker.entries:
                stored = _store(zf, entry, notes)
                if stored >= 0 and not entry.arcname.endswith("/"):
                    files += 1
                    size += stored
        os.replace(part, dest)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    lines = notes.lines()
    if git_note:
        lines = (git_note, *lines)
    return TestTree(dest, files, size, tuple(walker.excluded), lines)


def relative_args(args: Sequence[str], invocation_dir: Path, rootdir: Path) -> list[str]:
    """Host pytest arguments (paths, node ids) as paths relative to the rootdir."""
    out = []
    root = rootdir.resolve()
    for arg in args:
        path_part, sep, rest = arg.partition("::")
        path = (invocation_dir / path_part).resolve()
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            raise HarnessError(ARG_OUTSIDE_ROOT.format(arg=arg, rootdir=rootdir)) from None
        out.append((rel or ".") + sep + rest)
    return out
