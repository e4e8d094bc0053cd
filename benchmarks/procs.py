"""Run one command and observe it from the outside: wall time, timed output lines, memory.

Every benchmark figure comes from here, for the harness, the bare runners and
pytest-pyodide alike, so they are measured the same way:

- wall time: ``time.perf_counter()`` from just before ``Popen`` to the exit status;
- output: stdout and stderr merged, each line stamped with the seconds since spawn
  when the parent read it (the children run with ``PYTHONUNBUFFERED=1``); kept for
  the bare runners' JSON marks and to show a failed run's tail;
- ``spawned``: ``time.monotonic()`` at spawn, so stamps a run's own hooks take on
  that clock (``bench_hooks.py``) become seconds since spawn;
- memory: a sampler thread walks the command's process tree through ``/proc``
  every ``interval`` seconds and sums, per kind of process (host, node, chromium,
  firefox, Playwright driver, helpers), either ``VmRSS`` from ``status`` (cheap;
  shared pages are counted once per process, so an upper bound) or, with
  ``pss=True``, ``Pss`` from ``smaps_rollup`` (shared pages divided among the
  processes that map them, so sums of a process tree are meaningful; costs a
  page-table walk per process, so timed runs do not use it). The figure is the
  largest sum seen. For the root process the kernel's own high-water mark
  ``VmHWM`` is kept as well (exact, not sampled; read until the process exits),
  and its own CPU seconds (``stat``'s utime + stime, children excluded: for the
  harness, the host's work alone) as of the last sample.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

KIB_PER_MIB = 1024


@dataclass(frozen=True)
class Line:
    at: float  # seconds since spawn
    text: str


@dataclass
class Memory:
    """Peak resident memory in MiB, per kind of process."""

    peak: dict[str, float] = field(default_factory=dict)  # kind -> max over samples of sum(VmRSS or Pss)
    pss: bool = False
    root_hwm: float = 0.0  # VmHWM of the root process (kernel high-water mark)
    root_cpu: float = 0.0  # CPU seconds of the root process itself (its last sample)
    samples: int = 0

    def get(self, kind: str) -> float | None:
        return self.peak.get(kind)


@dataclass
class Result:
    argv: list[str]
    returncode: int
    wall: float
    lines: list[Line]
    memory: Memory
    timed_out: bool = False
    cpu: float | None = None  # CPU seconds of the whole process tree (cgroup), if measurable
    spawned: float = 0.0  # time.monotonic() just before the spawn: stamps from the run's hooks

    def output(self, last: int | None = None) -> str:
        chosen = self.lines if last is None else self.lines[-last:]
        return "\n".join(line.text for line in chosen)

    def first(self, prefix: str) -> Line | None:
        return next((line for line in self.lines if line.text.startswith(prefix)), None)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _status_kib(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in KiB, or None once the process is gone (or a zombie)."""
    text = _read(f"/proc/{pid}/status")
    if text is None:
        return None
    rss = hwm = 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return rss, hwm


def _pss_kib(pid: int) -> int | None:
    text = _read(f"/proc/{pid}/smaps_rollup")
    if text is None:
        return None
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return None


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _own_cpu(pid: int) -> float | None:
    """User + system seconds of the process itself (not its children), from ``stat``."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS if len(fields) > 12 else None


def _ppid(pid: int) -> int | None:
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    fields = text[text.rfind(")") + 2:].split()
    return int(fields[1]) if len(fields) > 1 else None


def classify(pid: int, is_root: bool) -> str:
    """The kind of a process, from its executable and command line."""
    try:
        exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        exe = ""
    cmdline = (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ")
    name = exe or os.path.basename(cmdline.split(" ", 1)[0])
    if "driver" in name:  # chromedriver, geckodriver (pytest-pyodide's Selenium runner)
        return "driver"
    if "chrom" in name or "chrome" in cmdline.split(" ", 1)[0]:
        return "chromium"
    if "firefox" in name or "firefox" in cmdline.split(" ", 1)[0]:
        return "firefox"
    if name.startswith("node"):
        if "playwright" in cmdline:
            return "driver"
        return "node"
    if is_root:
        return "host"
    return "helper"  # pip resolving, version probes, shells


class TreeSampler:
    """Samples the process tree below ``root`` until stopped."""

    def __init__(self, root: int, interval: float, pss: bool = False) -> None:
        self.root = root
        self.interval = interval
        self.pss = pss
        self.memory = Memory(pss=pss)
        self._kinds: dict[int, str] = {}
        self._outside: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _members(self) -> list[int]:
        """The root and every descendant alive now; new pids are classified once."""
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        parents: dict[int, int] = {}
        for pid in pids:
            if pid in self._kinds or pid in self._outside:
                continue
            ppid = _ppid(pid)
            if ppid is not None:
                parents[pid] = ppid
        members: set[int] = {p for p in pids if p in self._kinds}
        if self.root not in self._kinds and self.root in parents:
            members.add(self.root)
            self._kinds[self.root] = classify(self.root, True)
        changed = True
        while changed:  # new children of members (and of their new children)
            changed = False
            for pid, ppid in parents.items():
                if pid not in members and ppid in members:
                    members.add(pid)
                    self._kinds[pid] = classify(pid, False)
                    changed = True
        self._outside.update(p for p in parents if p not in members)
        return sorted(members)

    def sample(self) -> None:
        totals: dict[str, int] = {}
        for pid in self._members():
            status = _status_kib(pid)
            if status is None:
                continue
            rss, hwm = status
            if self.pss:
                rss = _pss_kib(pid) or 0
            kind = self._kinds[pid]
            totals[kind] = totals.get(kind, 0) + rss
            if pid == self.root:
                self.memory.root_hwm = max(self.memory.root_hwm, hwm / KIB_PER_MIB)
                own = _own_cpu(pid)
                if own is not None:
                    self.memory.root_cpu = max(self.memory.root_cpu, own)
        for kind, kib in totals.items():
            mib = kib / KIB_PER_MIB
            self.memory.peak[kind] = max(self.memory.peak.get(kind, 0.0), mib)
        self.memory.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, ValueError):
                self.sample()
            self._stop.wait(self.interval)


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class CpuAccount:
    """CPU time of a process and everything it starts, through a cgroup-v1 ``cpuacct`` group.

    Browsers reparent and reap their own children, so summing the processes one
    sees misses some; a cgroup counts them all. Needs root and cgroup v1 (as on
    the benchmark machine); elsewhere ``seconds()`` is None.
    """

    def __init__(self) -> None:
        self.path: Path | None = None
        if CPUACCT.is_dir() and os.access(CPUACCT, os.W_OK):
            path = CPUACCT / f"pyodide-harness-bench-{os.getpid()}-{time.monotonic_ns()}"
            with contextlib.suppress(OSError):
                path.mkdir()
                self.path = path

    def enter(self) -> None:
        """Called in the child before exec (``preexec_fn``): join the group."""
        if self.path is not None:
            with contextlib.suppress(OSError):
                (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float | None:
        if self.path is None:
            return None
        try:
            return int((self.path / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def remove(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.rmdir()  # fails while a process is left in it; harmless


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 1800.0,
    interval: float = 0.25,
    pss: bool = False,
    echo: bool = False,
) -> Result:
    """Run ``argv`` to its end; kill its process group after ``timeout`` seconds."""
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONUNBUFFERED"] = "1"
    lines: list[Line] = []
    account = CpuAccount()
    spawned = time.monotonic()
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=account.enter,
    )
    sampler = TreeSampler(proc.pid, interval, pss)
    sampler.start()
    timed_out = False

    def kill() -> None:
        nonlocal timed_out
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(Line(time.perf_counter() - start, text))
            if echo:
                print(f"    | {text}", flush=True)
        returncode = proc.wait()
        wall = time.perf_counter() - start
    finally:
        timer.cancel()
        sampler.stop()
        if proc.poll() is None:
            kill()
            proc.wait()
        # Browsers and drivers left behind by a killed run must not disturb the next one.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        cpu = account.seconds()
        account.remove()
    return Result(list(argv), returncode, wall, lines, sampler.memory, timed_out, cpu, spawned)
