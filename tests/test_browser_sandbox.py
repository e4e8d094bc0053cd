"""What code under test in a browser can reach: only the harness's server, and the OS sandbox.

A plain HTTP server on another loopback port runs in this (host) process and counts
every connection it accepts; code in the runtime tries to reach it every way a
worker can. With the default sandbox not one connection may arrive (before the
Content-Security-Policy, a synchronous XHR arrived with the token in its Referer).
The probes without Pyodide drive a browser runtime directly with a stand-in
``pyodide.mjs``, so every sandbox mode is covered before ``--pyodide-sandbox`` exists.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pyodide_harness.inner.pyodide_harness_inner import InnerOptions
from pyodide_harness.protocol import Event, RuntimeError_
from pyodide_harness.runners import create
from pyodide_harness.runners.base import RuntimeConfig, RuntimeJob, Sandbox
from pyodide_harness.runners.browser import ENV_PAGE_CSP, ENV_SANDBOX, PAGE_CSP, BrowserRuntime
from pyodide_harness.runners.chromium import SANDBOX_OFF_ROOT, running_as_root
from pyodide_harness.runners.chromium import SANDBOX_ON as CHROMIUM_SANDBOX_ON
from pyodide_harness.runners.firefox import DISABLE_VARIABLE
from pyodide_harness.runners.firefox import SANDBOX_OFF_ENV as FIREFOX_SANDBOX_OFF_ENV
from pyodide_harness.runners.firefox import SANDBOX_ON as FIREFOX_SANDBOX_ON

pytestmark = pytest.mark.browser

BROWSERS = ("chromium", "firefox")
PROBE_MARK = "PROBE "


@dataclass
class Seen:
    """One request the outside server received."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Outside:
    """What reached the outside server: connections accepted, requests read."""

    port: int
    connections: int = 0
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


class _OutsideServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    outside: Outside

    def get_request(self) -> tuple[socket.socket, Any]:
        """Count at accept: a request the browser refused must not even connect."""
        connection = super().get_request()
        with self.outside.lock:
            self.outside.connections += 1
        return connection


class _OutsideHandler(http.server.BaseHTTPRequestHandler):
    """Answers anything with CORS and CORP open, so only the harness's policy can refuse."""

    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        outside = self.server.outside  # type: ignore[attr-defined]
        with outside.lock:
            outside.requests.append(Seen(self.command, self.path, dict(self.headers.items())))
        if self.path.endswith(".mjs"):
            body, kind = b"export const reached = 'imported';\n", "text/javascript"
        elif self.path.endswith("events"):
            body, kind = b"data: reached\n\n", "text/event-stream"
        else:
            body, kind = b"reached", "text/plain"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


@pytest.fixture
def outside() -> Iterator[Outside]:
    """An HTTP server on another loopback port of this host, counting what reaches it."""
    server = _OutsideServer(("127.0.0.1", 0), _OutsideHandler)
    server.outside = Outside(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server.outside
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- the OS sandbox, seen from /proc ---------------------------------------------------------

def _descendants(root: int) -> list[int]:
    """Every process below ``root`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _content_seccomp_once(browser: str) -> list[int]:
    marker = b"--type=renderer" if browser == "chromium" else b"-contentproc"
    modes = []
    for pid in _descendants(os.getpid()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if marker in cmdline and (browser == "chromium" or cmdline.endswith(b" tab ")):
            found = re.search(r"^Seccomp:\s*(\d+)", status, re.M)
            assert found is not None, status
            modes.append(int(found.group(1)))
    return modes


async def content_processes_seccomp(browser: str) -> list[int]:
    """The seccomp mode (2: filtered) of each process below this one that runs web content.

    Chromium's zygote children rewrite their command line into one string, hence
    the search in the joined text. A process the browser has just started (Firefox
    keeps a spare content process ready) runs for a moment before it sandboxes
    itself, so the modes are read until they agree, for at most 10 seconds.
    """
    modes = _content_seccomp_once(browser)
    for _ in range(40):
        if len(set(modes)) <= 1:
            break
        await asyncio.sleep(0.25)
        modes = _content_seccomp_once(browser)
    return modes


# -- probes without Pyodide: a stand-in pyodide.mjs run by the real page and worker -----------

# Every way a module worker can send a request elsewhere. Each result is "reached: ..."
# or "refused: ..."; the stand-in then throws them, as a string, so the worker reports
# them as its runtime error.
STAND_IN = """
const target = %(target)s;
async function attempt(name, results, f) {
  try { results[name] = "reached: " + (await f()); }
  catch (e) { results[name] = "refused: " + (e && e.name ? e.name + ": " + e.message : e); }
}
function opened(make) {
  return new Promise((resolve, reject) => {
    const source = make();
    const timer = setTimeout(() => reject(new Error("timed out")), 3000);
    source.onopen = () => { clearTimeout(timer); source.close(); resolve("open"); };
    source.onerror = () => { clearTimeout(timer); source.close(); reject(new Error("error event")); };
  });
}
export async function loadPyodide() {
  const results = {
    isolated: String(self.crossOriginIsolated),
    // Ways out that no CSP directive governs: none exists in a worker.
    webrtc: typeof RTCPeerConnection,
    beacon: typeof navigator.sendBeacon,
  };
  await attempt("fetch", results, async () => await (await fetch(target + "fetch")).text());
  await attempt("xhr", results, () => {
    const xhr = new XMLHttpRequest();
    xhr.open("GET", target + "xhr", false);
    xhr.send();
    return xhr.responseText;
  });
  await attempt("eventsource", results, () => opened(() => new EventSource(target + "events")));
  await attempt("websocket", results, () => opened(() => new WebSocket(target.replace("http", "ws") + "ws")));
  await attempt("import", results, async () => (await import(target + "module.mjs")).reached);
  await attempt("eval", results, () => eval("'reached'"));
  throw %(mark)s + JSON.stringify(results);
}
"""
# The outside server speaks no WebSocket: "websocket" is refused in every mode.
NETWORK_PROBES = ("fetch", "xhr", "eventsource", "import")


@dataclass
class Probe:
    results: dict[str, str]
    environment: dict[str, str]
    seccomp: list[int]


def probe(browser: str, sandbox: Sandbox, outside: Outside, tmp_path: Path) -> Probe:
    """Run the stand-in in ``browser`` with ``sandbox``; what it reached and how it ran."""
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "pyodide.mjs").write_text(
        STAND_IN % {"target": json.dumps(outside.url), "mark": json.dumps(PROBE_MARK)})
    placeholder = tmp_path / "placeholder.txt"
    placeholder.write_text("unused\n")
    job = RuntimeJob(distribution=dist, wheels=(), archive=placeholder, inner=placeholder,
                     options=InnerOptions(runtime=browser, rootdir="/"), workdir=tmp_path)
    runtime = create(browser, RuntimeConfig(sandbox=sandbox))
    assert isinstance(runtime, BrowserRuntime)
    events: list[Event] = []

    async def drive() -> list[int]:
        try:
            await asyncio.wait_for(runtime.run(job, events.append), 120)
            return await content_processes_seccomp(browser)  # the browser still runs
        finally:
            await runtime.close()

    seccomp = asyncio.run(drive())
    errors = [e.text for e in events if isinstance(e, RuntimeError_)]
    found = [text for text in errors if PROBE_MARK in text]
    assert found, f"the stand-in did not report: {events}"
    results = json.loads(found[0].partition(PROBE_MARK)[2])
    return Probe(results, runtime.environment, seccomp)


@pytest.mark.parametrize("browser", BROWSERS)
def test_default_sandbox_reaches_nothing_but_the_harness_server(
    browser: str, outside: Outside, tmp_path: Path
) -> None:
    result = probe(browser, "on", outside, tmp_path)
    assert outside.connections == 0, outside.requests
    for name in (*NETWORK_PROBES, "websocket"):
        assert result.results[name].startswith("refused: "), (name, result.results)
    assert result.results["isolated"] == "true"  # COOP/COEP still apply
    assert (result.results["webrtc"], result.results["beacon"]) == ("undefined", "undefined")
    assert result.results["eval"] == "reached: reached"  # 'unsafe-eval' (pyodide.code.run_js)
    assert result.environment[ENV_PAGE_CSP] == PAGE_CSP["on"] == "harness server only"


@pytest.mark.parametrize("browser", BROWSERS)
def test_network_sandbox_connects_anywhere_without_leaking_the_token(
    browser: str, outside: Outside, tmp_path: Path
) -> None:
    result = probe(browser, "network", outside, tmp_path)
    for name in ("fetch", "xhr", "eventsource"):
        assert result.results[name].startswith("reached: "), (name, result.results)
    assert result.results["import"].startswith("refused: ")  # code still comes from the harness only
    assert result.results["isolated"] == "true"
    assert result.environment[ENV_PAGE_CSP] == "network allowed"
    paths = {seen.path for seen in outside.requests}
    assert {"/fetch", "/xhr", "/events", "/ws"} <= paths, paths  # /ws: the WebSocket handshake
    assert "/module.mjs" not in paths
    assert_no_token_sent(outside)


def assert_no_token_sent(outside: Outside) -> None:
    """No Referer, and no header carries a URL with a path (the token is the first segment)."""
    for seen in outside.requests:
        assert "Referer" not in seen.headers, seen
        assert not any(re.search(r"https?://[^/\s]+/\S", v) for v in seen.headers.values()), seen


@pytest.mark.parametrize("browser", BROWSERS)
def test_sandbox_off_sends_no_policy(browser: str, outside: Outside, tmp_path: Path) -> None:
    result = probe(browser, "off", outside, tmp_path)
    for name in NETWORK_PROBES:
        assert result.results[name].startswith("reached: "), (name, result.results)
    assert result.environment[ENV_PAGE_CSP] == "off"
    assert outside.requests
    assert_no_token_sent(outside)  # no-referrer in every mode


def test_chromium_reports_its_os_sandbox_as_it_runs(outside: Outside, tmp_path: Path) -> None:
    """As root Chromium refuses its sandbox, so it runs without and says so; otherwise
    its renderers run under seccomp. /proc says which, whatever the report says."""
    result = probe("chromium", "on", outside, tmp_path)
    assert result.seccomp, "no renderer process found"
    if running_as_root():
        assert result.environment[ENV_SANDBOX] == SANDBOX_OFF_ROOT
    sandboxed = result.environment[ENV_SANDBOX] == CHROMIUM_SANDBOX_ON
    assert all(mode == 2 for mode in result.seccomp) == sandboxed, (result.environment,
                                                                   result.seccomp)


def test_firefox_content_sandbox_stays_on(outside: Outside, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DISABLE_VARIABLE, raising=False)
    result = probe("firefox", "on", outside, tmp_path)
    assert result.environment[ENV_SANDBOX] == FIREFOX_SANDBOX_ON
    assert result.seccomp and all(mode == 2 for mode in result.seccomp), result.seccomp


def test_firefox_says_when_the_environment_turns_its_sandbox_off(
    outside: Outside, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DISABLE_VARIABLE, "1")
    result = probe("firefox", "on", outside, tmp_path)
    assert result.environment[ENV_SANDBOX] == FIREFOX_SANDBOX_OFF_ENV
    assert result.seccomp and all(mode == 0 for mode in result.seccomp), result.seccomp


# -- a real suite in Pyodide ---------------------------------------------------------------

SUITE = '''
import pytest
from js import XMLHttpRequest, fetch
from pyodide.code import run_js
from pyodide.ffi import JsException, run_sync

URL = {url!r}

OPENED = run_js("""(url, kind) => new Promise((resolve) => {{
  let source;
  try {{ source = kind === "ws" ? new WebSocket(url) : new EventSource(url); }}
  catch (e) {{ resolve("refused: " + e.name); return; }}
  const timer = setTimeout(() => resolve("timed out"), 3000);
  source.onopen = () => {{ clearTimeout(timer); source.close(); resolve("open"); }};
  source.onerror = () => {{ clearTimeout(timer); source.close(); resolve("error"); }};
}})""")


def test_sync_xhr_fails_like_offline():
    xhr = XMLHttpRequest.new()
    xhr.open("GET", URL + "xhr", False)
    with pytest.raises(JsException, match="NetworkError"):
        xhr.send()


def test_fetch_fails_like_offline():
    with pytest.raises(JsException, match="TypeError"):
        run_sync(fetch(URL + "fetch"))


def test_websocket_and_eventsource_do_not_open():
    assert run_sync(OPENED(URL.replace("http", "ws") + "ws", "ws")) != "open"
    assert run_sync(OPENED(URL + "events", "es")) != "open"


def test_dynamic_import_fails():
    with pytest.raises(JsException):
        run_sync(run_js("(url) => import(url)")(URL + "module.mjs"))


def test_run_js_still_works():
    assert run_js("6 * 7") == 42
'''


@pytest.mark.parametrize("browser", BROWSERS)
def test_suite_cannot_reach_another_loopback_port(
    browser: str, outside: Outside, run: Callable[..., pytest.RunResult],
    suite: Callable[..., Path], tmp_path: Path
) -> None:
    wheel = suite({"tests/test_reach.py": SUITE.format(url=outside.url)})
    reports = tmp_path / "reports"
    result = run(f"--pyodide-wheel={wheel}", f"--pyodide-report-dir={reports}", "-rA",
                 runtime=browser)
    leaked = [(seen.path, seen.headers.get("Referer")) for seen in outside.requests]
    assert outside.connections == 0, leaked
    result.assert_outcomes(passed=5)
    results = json.loads((reports / "results.json").read_text())
    environment = results["packages"][0]["runtimes"][0]["environment"]
    assert environment[ENV_PAGE_CSP] == "harness server only"
    if browser == "firefox":
        assert environment[ENV_SANDBOX] == FIREFOX_SANDBOX_ON
    elif running_as_root():
        assert environment[ENV_SANDBOX] == SANDBOX_OFF_ROOT
    else:  # on, or off with the reason it could not start
        assert environment[ENV_SANDBOX].startswith("Chromium OS sandbox ")
