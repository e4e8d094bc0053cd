"""What of the project goes into the runtime: the test tree, never the package source.

Suites read data relative to their own files, even from outside the test
directory (``Path(__file__).parent.parent / "data"``), so the archive keeps the
rootdir's layout. What it leaves out: the importable names the wheel under test
installs (``src/pkg``, ``pkg/``, a flat ``pkg.py`` beside the tests), because a
source copy there would shadow the installed wheel, plus VCS data, virtual
environments, caches, build outputs and native binaries.
"""

from __future__ import annotations

import fnmatch
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import HarnessError

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", ".direnv", "__pycache__",
        ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "node_modules",
        "build", "dist", ".eggs", "wheelhouse", ".pyodide-xbuildenv", ".idea", ".vscode",
    }
)
SKIP_FILE_PATTERNS = (
    "*.pyc", "*.pyo", "*.whl", "*.tar.gz", "*.zip", "*.so", "*.pyd", "*.dylib", "*.dll",
    "*.o", "*.a", "*.obj",
)
ARG_OUTSIDE_ROOT = (
    "{arg} is outside the rootdir {rootdir}; only the rootdir's tree goes into the runtime. "
    "Run pytest from the project root or pass --rootdir."
)


@dataclass(frozen=True)
class TestTree:
    archive: Path
    files: int
    size: int
    excluded: tuple[str, ...]  # rootdir-relative paths left out because the wheel provides them


def _is_package_source(name: str, top_level: frozenset[str]) -> bool:
    stem = name.split(".", 1)[0]
    if name in top_level:  # a package directory
        return True
    return stem in top_level and (name.endswith(".py") or name.endswith((".so", ".pyd")))


def build_archive(rootdir: Path, top_level: Iterable[str], dest: Path) -> TestTree:
    """Zip the rootdir's tree, minus the package under test and clutter, into ``dest``."""
    names = frozenset(top_level)
    excluded: list[str] = []
    files = size = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for dirpath, dirnames, filenames in os.walk(rootdir):
            here = Path(dirpath)
            keep = []
            for d in sorted(dirnames):
                if d in SKIP_DIRS or d.endswith(".egg-info"):
                    continue
                if _is_package_source(d, names) and (here / d / "__init__.py").exists():
                    excluded.append((here / d).relative_to(rootdir).as_posix() + "/")
                    continue
                keep.append(d)
            dirnames[:] = keep
            for f in sorted(filenames):
                path = here / f
                if any(fnmatch.fnmatch(f, p) for p in SKIP_FILE_PATTERNS):
                    continue
                if _is_package_source(f, names):
                    excluded.append(path.relative_to(rootdir).as_posix())
                    continue
                if not path.is_file():
                    continue
                zf.write(path, path.relative_to(rootdir).as_posix())
                files += 1
                size += path.stat().st_size
    return TestTree(dest, files, size, tuple(excluded))


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
