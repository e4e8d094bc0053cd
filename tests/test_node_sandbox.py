"""The Node sandbox on real Node 24 + Pyodide 314: what a suite under test can reach of the host.

Each test runs a small suite through the harness whose tests try something on the host
through Pyodide's JS bridge (read the environment, write or read a host file, start a
process or a worker, open a socket) and assert, inside the runtime, that Node refused it;
the host side then checks that nothing happened. The last tests drive the runtime
directly, with the sandbox on and off, through a probe in place of the in-runtime session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fixtureproject import build_suite

from pyodide_harness import distribution, protocol
from pyodide_harness.errors import RuntimeStartError
from pyodide_harness.inner.pyodide_harness_inner import InnerOptions
from pyodide_harness.runners import RuntimeConfig, RuntimeJob, create
from pyodide_harness.runners.base import Sandbox
from pyodide_harness.runners.node import (
    DRIVER,
    ENV_COPIED,
    ENV_SET,
    NO_PERMISSION_MODEL,
    NodeBinary,
    find_node,
    launch,
)

pytestmark = pytest.mark.node

Run = Callable[..., pytest.RunResult]
Suite = Callable[..., Path]

SECRET = "PYODIDE_HARNESS_TEST_SECRET"
REFUSED = "Access to this API has been restricted"  # Node's ERR_ACCESS_DENIED message


def _node_env_allowed(name: str) -> bool:
    return name in ENV_SET or name in ENV_COPIED or name.startswith("LC_")


def test_host_environment_is_hidden_and_the_report_says_what_node_sees(
    suite: Suite, run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(SECRET, "hunter2")
    monkeypatch.setenv("NODE_OPTIONS", "--no-warnings")  # could carry --allow-fs-read=*
    monkeypatch.setenv("TZ", "Europe/Paris")
    allowed = sorted({*ENV_SET, *ENV_COPIED})
    wheel = suite({"tests/test_env.py": f"""
        import js

        def test_only_an_allow_list_of_variables():
            names = js.Object.keys(js.process.env).to_py()
            assert "{SECRET}" not in names
            assert "NODE_OPTIONS" not in names
            assert all(n in {allowed!r} or n.startswith("LC_") for n in names), names
            assert js.process.env.HOME == js.process.cwd()  # the scratch directory
            assert js.process.env.TZ == "Europe/Paris"  # copied: it changes Date's results
    """})
    report = tmp_path / "report"
    result = run(f"--pyodide-wheel={wheel}", "-rA", f"--pyodide-report-dir={report}")
    result.assert_outcomes(passed=1)
    results = json.loads((report / "results.json").read_text(encoding="utf-8"))
    environment = results["packages"][0]["runtimes"][0]["environment"]
    sandbox = environment["sandbox"]
    assert sandbox.startswith("node --permission: reads ")
    assert "writes scratch only" in sandbox and "no child processes" in sandbox
    assert "no workers" in sandbox
    listed = sandbox.rpartition("env: ")[2].split(",")
    assert "HOME" in listed and "TZ" in listed and SECRET not in listed
    assert all(_node_env_allowed(name) for name in listed), listed


def test_writing_a_host_file_outside_the_scratch_directory_is_refused(
    suite: Suite, run: Run, tmp_path: Path
) -> None:
    target = tmp_path / "written-by-the-suite.txt"
    wheel = suite({"tests/test_write.py": f"""
        import js
        import pytest
        from pyodide.ffi import JsException

        def test_host_write_refused():
            fs = js.process.getBuiltinModule("fs")
            with pytest.raises(JsException, match="{REFUSED}"):
                fs.writeFileSync({str(target)!r}, "x")

        def test_scratch_directory_is_writable():
            fs = js.process.getBuiltinModule("fs")
            path = js.process.cwd() + "/scratch.txt"
            fs.writeFileSync(path, "x")
            assert fs.readFileSync(path, "utf8") == "x"
    """})
    result = run(f"--pyodide-wheel={wheel}", "-rA")
    result.assert_outcomes(passed=2)
    assert not target.exists()


def test_reading_a_host_file_outside_the_allowed_set_is_refused(
    suite: Suite, run: Run, tmp_path: Path
) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("the host's secret")
    wheel = suite({"tests/test_read.py": f"""
        import js
        import pytest
        from pyodide.ffi import JsException

        def test_host_read_refused():
            fs = js.process.getBuiltinModule("fs")
            with pytest.raises(JsException, match="{REFUSED}"):
                fs.readFileSync({str(secret)!r}, "utf8")
            with pytest.raises(JsException, match="{REFUSED}"):
                fs.readdirSync({str(secret.parent)!r})
    """})
    result = run(f"--pyodide-wheel={wheel}", "-rA")
    result.assert_outcomes(passed=1)


def test_child_processes_and_workers_are_refused(suite: Suite, run: Run, tmp_path: Path) -> None:
    """A worker would be an escape: one started with `execArgv: []` runs without the
    permission model, so the sandbox grants none (not even for the harness itself)."""
    by_process = tmp_path / "made-by-a-child-process"
    by_worker = tmp_path / "made-by-a-worker"
    worker_code = (f"require('fs').writeFileSync({json.dumps(str(by_worker))}, 'x')")
    wheel = suite({"tests/test_spawn.py": f"""
        import js
        import pytest
        from pyodide.ffi import JsException, to_js

        def test_spawn_refused():
            child_process = js.process.getBuiltinModule("child_process")
            with pytest.raises(JsException, match="{REFUSED}"):
                child_process.spawnSync("sh", to_js(["-c", "touch {by_process}"]))

        def test_worker_refused():
            worker_threads = js.process.getBuiltinModule("worker_threads")
            options = to_js({{"eval": True, "execArgv": []}}, dict_converter=js.Object.fromEntries)
            with pytest.raises(JsException, match="{REFUSED}"):
                worker_threads.Worker.new({worker_code!r}, options)
    """})
    result = run(f"--pyodide-wheel={wheel}", "-rA")
    result.assert_outcomes(passed=2)
    assert not by_process.exists()
    assert not by_worker.exists()


@pytest.fixture
def line_server() -> Iterator[int]:
    """A loopback TCP server that sends one line to each connection."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(120)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"hello from the host\n")

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()


def test_sockets_still_work_inside_the_sandbox(suite: Suite, run: Run, line_server: int) -> None:
    wheel = suite({"tests/test_net.py": f"""
        import socket
        import js

        def test_sandboxed():
            assert js.process.permission.has("child") is False

        def test_reads_a_line_from_a_host_server():
            with socket.create_connection(("127.0.0.1", {line_server}), timeout=10) as s:
                assert s.makefile("rb").readline() == b"hello from the host\\n"
    """})
    result = run(f"--pyodide-wheel={wheel}", "-rA")
    result.assert_outcomes(passed=2)


# -- the runtime driven directly, sandbox on and off -------------------------------------------

PROBE = """
import json
import os
import js
import pyodide_harness_bridge as bridge

def main(options_json):
    fs = js.process.getBuiltinModule("fs")
    try:
        fs.writeFileSync(os.environ["PROBE_TARGET"], "x")
        wrote = True
    except Exception:
        wrote = False
    seen = {"env": js.Object.keys(js.process.env).to_py(), "wrote": wrote}
    bridge.emit(json.dumps({"event": "runtime_error", "text": json.dumps(seen)}))
    bridge.emit(json.dumps({"event": "done", "exitstatus": 0, "seconds": 0}))
    return 0
"""


def drive(sandbox: Sandbox, root: Path, target: Path) -> list[protocol.Event]:
    """Boot Pyodide in Node with a probe as the in-runtime session; its events."""
    root.mkdir()
    archive = root / "tests.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("tests/__init__.py", "")
    inner = root / "probe.py"
    inner.write_text(PROBE)
    dist = distribution.obtain_distribution()
    job = RuntimeJob(distribution=dist.path, wheels=(), archive=archive, inner=inner,
                     options=InnerOptions(runtime="node", rootdir="/home/pyodide/project"),
                     workdir=root / "scratch", env={"PROBE_TARGET": str(target)})
    runtime = create("node", RuntimeConfig(sandbox=sandbox))
    events: list[protocol.Event] = []
    asyncio.run(asyncio.wait_for(runtime.run(job, events.append), 300))
    return events


@pytest.mark.parametrize("sandbox", ["on", "off"])
def test_sandbox_modes_when_driving_the_runtime(
    sandbox: Sandbox, tmp_path: Path, harness_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYODIDE_HARNESS_CACHE", str(harness_cache))
    monkeypatch.setenv(SECRET, "hunter2")
    target = tmp_path / "outside.txt"
    events = drive(sandbox, tmp_path / "run", target)
    ready = [e for e in events if isinstance(e, protocol.RuntimeReady)]
    probes = [e for e in events if isinstance(e, protocol.RuntimeError_)]
    assert len(ready) == 1 and len(probes) == 1, events
    seen = json.loads(probes[0].text)
    if sandbox == "off":  # today's behaviour: the whole host
        assert SECRET in seen["env"] and seen["wrote"] and target.exists()
        assert ready[0].environment["sandbox"] == "off"
    else:
        assert SECRET not in seen["env"] and not seen["wrote"] and not target.exists()
        assert ready[0].environment["sandbox"].startswith("node --permission: reads 5 paths")


# -- what the runtime is launched with (no Node started) ------------------------------------


def _job(tmp_path: Path) -> RuntimeJob:
    return RuntimeJob(distribution=tmp_path / "dist", wheels=(tmp_path / "a.whl", tmp_path / "b.whl"),
                      archive=tmp_path / "tests.zip", inner=tmp_path / "inner.py",
                      options=InnerOptions(runtime="node", rootdir="/"), workdir=tmp_path / "node-2")


def _binary(*options: str) -> NodeBinary:
    return NodeBinary(Path("/usr/bin/node"), "v24.19.0", ("--experimental-wasm-stack-switching",),
                      frozenset(options))


HOST_ENV = {"PATH": "/usr/bin", "HOME": "/root", "LANG": "C.UTF-8", "LC_TIME": "de_DE.UTF-8",
            "TZ": "UTC", SECRET: "hunter2", "NODE_OPTIONS": "--allow-fs-read=*",
            "AWS_SECRET_ACCESS_KEY": "x"}


def test_sandboxed_launch_reads_only_the_job_and_writes_only_scratch(tmp_path: Path) -> None:
    job = _job(tmp_path)
    got = launch(_binary("--permission", "--no-experimental-sqlite"), job, "on", HOST_ENV)
    scratch = f"{job.workdir.resolve()}/"
    reads = sorted(a.partition("=")[2] for a in got.flags if a.startswith("--allow-fs-read="))
    assert reads == sorted([
        f"{(tmp_path / 'dist').resolve()}/", str((tmp_path / "a.whl").resolve()),
        str((tmp_path / "b.whl").resolve()), str((tmp_path / "tests.zip").resolve()),
        str((tmp_path / "inner.py").resolve()), f"{DRIVER.parent}/", scratch,
    ])
    assert [a for a in got.flags if a.startswith("--allow-fs-write")] == [
        f"--allow-fs-write={scratch}"]
    assert "--permission" in got.flags and "--no-experimental-sqlite" in got.flags
    for grant in ("--allow-child-process", "--allow-worker", "--allow-addons", "--allow-wasi",
                  "--allow-inspector"):
        assert not any(a.startswith(grant) for a in got.flags), grant
    assert got.env == {"HOME": str(job.workdir.resolve()), "TMPDIR": str(job.workdir.resolve()),
                       "LANG": "C.UTF-8", "LC_TIME": "de_DE.UTF-8", "TZ": "UTC"}
    assert got.description == ("node --permission: reads 7 paths, writes scratch only, "
                               "no child processes, no workers, network open, "
                               "env: HOME,LANG,LC_TIME,TMPDIR,TZ")


def test_newer_node_gets_network_access_back(tmp_path: Path) -> None:
    """From Node 25 the permission model also closes the network; sockets are what
    suites test, so the sandbox opens it again where the flag exists."""
    got = launch(_binary("--permission", "--allow-net"), _job(tmp_path), "network", HOST_ENV)
    assert "--allow-net" in got.flags
    assert launch(_binary("--permission"), _job(tmp_path), "on", HOST_ENV).flags.count(
        "--allow-net") == 0


def test_sandbox_off_is_the_whole_host(tmp_path: Path) -> None:
    got = launch(_binary("--permission"), _job(tmp_path), "off", HOST_ENV)
    assert got.flags == () and got.env is None and got.description == "off"


def test_node_without_a_permission_model_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(RuntimeStartError) as info:
        launch(_binary(), _job(tmp_path), "on", HOST_ENV)
    assert str(info.value) == NO_PERMISSION_MODEL.format(path="/usr/bin/node", version="v24.19.0")
    assert "--pyodide-sandbox=off" in str(info.value)


def test_real_node_probe_finds_the_permission_model() -> None:
    node = find_node()
    assert "--permission" in node.options
    assert ("--allow-net" in node.options) == (node.major >= 25)


# -- no worker thread reads the host's commands any more: a dead host still ends Node ----------


def _node_processes(marker: str) -> list[int]:
    """Pids of the Node drivers whose command line names *marker* (this run's TMPDIR)."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True,
                         check=True).stdout
    return [int(line.split(None, 1)[0]) for line in out.splitlines()[1:]
            if marker in line and "node_driver.mjs" in line]


@pytest.mark.skipif(sys.platform != "linux", reason="the kernel's parent-death signal is Linux's")
def test_killed_host_ends_node_even_while_a_test_is_stuck_in_c_code(
    tmp_path: Path, harness_cache: Path
) -> None:
    """Between Python's interrupt checks the driver notices a closed stdin and ends itself;
    a test looping in C makes no such checks, so Node must die with its parent."""
    project, wheel = build_suite(tmp_path, {"tests/test_stuck.py": """
        def test_before():
            pass

        def test_stuck_in_c():
            sum(range(10**15))  # loops in C: no interrupt checks, no JS
    """})
    tmp, log = tmp_path / "tmp", tmp_path / "host.log"
    tmp.mkdir()
    env = {**os.environ, "PYODIDE_HARNESS_CACHE": str(harness_cache), "TMPDIR": str(tmp)}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v",
               "--pyodide-runtime=node", f"--pyodide-wheel={wheel}", "--pyodide-timeout=0"]
    with open(log, "wb") as out:
        host = subprocess.Popen(command, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not re.search(r"test_before\S* PASSED", log.read_text(errors="replace")):
            assert host.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        time.sleep(2)  # well inside sum()
        running = _node_processes(str(tmp))
        assert running, "no Node driver found for this run"
        host.kill()
        host.wait()
        deadline = time.monotonic() + 15
        while (left := _node_processes(str(tmp))) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert left == []
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
        for pid in _node_processes(str(tmp)):  # what this test started, if it outlived the host
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
