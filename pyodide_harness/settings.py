"""The harness's settings, resolved once (CLI > ini > defaults) into a frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from . import target
from .errors import HarnessError
from .runners.base import SANDBOX_MODES, Sandbox

ALL_RUNTIMES = ("chromium", "firefox", "node")

UNKNOWN_RUNTIME = "Unknown runtime {name!r} in {where}; choose from {choices}"
BAD_BROWSER_PATH = (
    "Invalid --pyodide-browser-path {value!r}: use BROWSER=PATH, e.g. chromium=/usr/bin/chromium"
)


@dataclass(frozen=True)
class Settings:
    wheels: tuple[str, ...]
    runtimes: tuple[str, ...]
    shell_expanded: bool = False  # the wheels are a shell's expansion of one glob
    pyodide_version: str = target.DEFAULT_VERSION
    pyodide_dist: Path | None = None
    package_base_url: str | None = None  # where lock packages come from; None: Pyodide's CDN
    node: Path | None = None
    browser_paths: tuple[tuple[str, Path], ...] = ()
    requirements: tuple[str, ...] = ()
    requirements_files: tuple[Path, ...] = ()
    dependency_groups: tuple[str, ...] = ()
    sockfs: bool = True
    timeout: float = 300.0  # per test phase; 0 for none
    max_restarts: int = 5
    report_dir: Path | None = None
    shard: tuple[int, int] | None = None  # (K, N): run the K-th of N shards
    baseline: Path | None = None
    xfail: tuple[str, ...] = ()  # "RUNTIME PATTERN [reason]" lines
    workers: int = 1  # instances per runtime
    workers_note: str | None = None  # why fewer instances than asked for
    sandbox: Sandbox = "on"
    inner_args: tuple[str, ...] = ()  # --pyodide-arg: passed to the runtime's pytest as is
    coverage: tuple[str, ...] | None = None  # --pyodide-cov sources; (): the wheels' packages
    coverage_compare: Path | None = None  # --pyodide-cov-compare: a native coverage data file

    @property
    def explicit_requirements(self) -> bool:
        """Any requirement option given turns off the pyproject test-dependency detection."""
        return bool(self.requirements or self.requirements_files or self.dependency_groups)


def parse_timeout(value: str, where: str) -> float:
    """A timeout in seconds, 0 for none (pytest-timeout's wording for the error)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise HarnessError(f"Invalid timeout {value!r} from {where}: give seconds, or 0 for none")
    return seconds


BAD_SHARD = "Invalid shard {value!r} from {where}: use K/N with 1 <= K <= N, e.g. 2/3"


def parse_shard(value: str, where: str = "--pyodide-shard") -> tuple[int, int]:
    """``K/N`` -> (K, N), for splitting one suite over N CI jobs."""
    k, sep, n = value.partition("/")
    try:
        shard = (int(k), int(n))
    except ValueError:
        raise HarnessError(BAD_SHARD.format(value=value, where=where)) from None
    if not sep or not 1 <= shard[0] <= shard[1]:
        raise HarnessError(BAD_SHARD.format(value=value, where=where))
    return shard


BAD_WORKERS = "Invalid --pyodide-workers {value!r}: give a number of instances per runtime, or auto"


def parse_workers(value: str, cpus: int) -> tuple[int, str | None]:
    """N instances per runtime, capped at the CPU count (instances would only starve each
    other); returns the number and a note when it was capped. ``auto``: the CPU count."""
    if value == "auto":
        return cpus, None
    try:
        n = int(value)
    except ValueError:
        raise HarnessError(BAD_WORKERS.format(value=value)) from None
    if n < 1:
        raise HarnessError(BAD_WORKERS.format(value=value))
    if n > cpus:
        return cpus, f"--pyodide-workers {n} capped at {cpus}, the number of CPUs"
    return n, None


def parse_runtimes(values: list[str], where: str, known: tuple[str, ...]) -> tuple[str, ...]:
    """``--pyodide-runtime node --pyodide-runtime chromium,firefox`` -> ordered unique names."""
    names: list[str] = []
    for value in values:
        for name in value.replace(" ", ",").split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name == "all":
                names.extend(known)
                continue
            if name not in known:
                raise HarnessError(
                    UNKNOWN_RUNTIME.format(name=name, where=where, choices=", ".join(known))
                )
            names.append(name)
    return tuple(dict.fromkeys(names))


def parse_browser_paths(values: list[str]) -> tuple[tuple[str, Path], ...]:
    pairs = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise HarnessError(BAD_BROWSER_PATH.format(value=value))
        pairs.append((name.strip().lower(), Path(path).expanduser()))
    return tuple(pairs)


BAD_PACKAGE_BASE_URL = (
    "Invalid package base URL {value!r} from {where}: give an http(s):// or file:// URL, or a "
    "directory, that holds the files pyodide-lock.json names"
)


def parse_package_base_url(value: str, where: str) -> str:
    """An http(s) or file URL ending in ``/``; a directory becomes its file URL."""
    value = value.strip()
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if (scheme in ("http", "https") and parts.netloc) or (scheme == "file" and parts.path):
        url = value
    elif not scheme or len(scheme) == 1:  # a path (``C:`` on Windows is not a scheme)
        directory = Path(value).expanduser()
        if not directory.is_dir():
            raise HarnessError(BAD_PACKAGE_BASE_URL.format(value=value, where=where))
        url = directory.resolve().as_uri()
    else:
        raise HarnessError(BAD_PACKAGE_BASE_URL.format(value=value, where=where))
    return url if url.endswith("/") else url + "/"


BAD_SANDBOX = "Invalid sandbox mode {value!r} from {where}; choose from {choices}"


def parse_sandbox(value: str, where: str) -> Sandbox:
    if value not in SANDBOX_MODES:
        raise HarnessError(BAD_SANDBOX.format(value=value, where=where,
                                              choices=", ".join(SANDBOX_MODES)))
    return value
