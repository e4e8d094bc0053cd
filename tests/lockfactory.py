"""Lock entries for tests: wheels no index has, added to a copy of a Pyodide lock.

The official CDN is not reachable from the test machines, so the tests make their
own lock packages: a wheel (built by :mod:`wheelfactory`) becomes an entry with its
sha256, in a copy of the npm distribution's ``pyodide-lock.json`` (or of a minimal
lock), and its file is served from a loopback server as the package base URL or
put beside the lock as in a full distribution.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, parse_wheel_filename

MINIMAL_LOCK: dict[str, Any] = {
    "info": {"abi_version": "2026_0", "arch": "wasm32", "platform": "emscripten_5_0_3",
             "python": "3.14.2"},
    "packages": {},
}


def entry(wheel: Path, depends: Sequence[str] = (), imports: Sequence[str] | None = None,
          **changes: Any) -> dict[str, Any]:
    """The lock entry Pyodide's build would write for ``wheel``."""
    name, version, _, _ = parse_wheel_filename(wheel.name)
    data = {
        "name": str(name), "version": str(version), "file_name": wheel.name,
        "install_dir": "site", "package_type": "package",
        "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "depends": list(depends),
        "imports": list(imports if imports is not None else [name.replace("-", "_")]),
        "unvendored_tests": False, "tool": {},
    }
    data.update(changes)
    return data


def write_lock(dest: Path, entries: Sequence[dict[str, Any]], base: Path | None = None) -> Path:
    """``dest`` (a pyodide-lock.json): ``base``'s lock (default a minimal one) plus ``entries``."""
    data = json.loads(base.read_text(encoding="utf-8")) if base is not None else json.loads(
        json.dumps(MINIMAL_LOCK))
    for item in entries:
        data["packages"][canonicalize_name(item["name"])] = item
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    return dest


def distribution_with(dist: Path, dest: Path, entries: Sequence[dict[str, Any]],
                      files: Sequence[Path] = ()) -> Path:
    """A copy of the Pyodide distribution ``dist`` whose lock also lists ``entries``, with
    ``files`` beside it (a full distribution) or none (the npm package's layout)."""
    shutil.copytree(dist, dest, ignore=shutil.ignore_patterns("*.map", ".pyodide-harness-*"))
    write_lock(dest / "pyodide-lock.json", entries, base=dist / "pyodide-lock.json")
    for file in files:
        shutil.copy2(file, dest / file.name)
    return dest
