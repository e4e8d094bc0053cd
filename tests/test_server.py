"""The loopback file server, tested over real HTTP.

http.client (and a raw socket where even it refuses to send a request) lets the
tests choose the exact request target and Host header an attacker would.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyodide_harness.runners.base import SANDBOX_MODES, Sandbox
from pyodide_harness.runners.browser import JS_DIR
from pyodide_harness.server import (
    CONTENT_SECURITY_POLICIES,
    CONTENT_TYPES,
    DEFAULT_CONTENT_TYPE,
    ISOLATION_HEADERS,
    Server,
)

HOST = "127.0.0.1"
WASM = b"\0asm\x01\0\0\0"  # the smallest valid module: magic + version
SECRET = b"outside the root: must never be served"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REASON_NO_SUCH_FILE = "no such file"


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def request(
    server: Server,
    target: str,
    *,
    method: str = "GET",
    host: str | None = None,
    send_host: bool = True,
    headers: Sequence[tuple[str, str]] = (),
) -> Reply:
    """One request on a fresh connection, with the raw target and Host we choose."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=10)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        if send_host:
            conn.putheader("Host", host if host is not None else f"{HOST}:{server.port}")
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def raw_request(server: Server, data: bytes, method: str = "GET") -> Reply:
    """Send bytes http.client would refuse to put on the wire (NUL, bad versions)."""
    with socket.create_connection((HOST, server.port), timeout=10) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        return Reply(response.status, response.headers, response.read())


def assert_isolated(reply: Reply) -> None:
    for name, value in ISOLATION_HEADERS.items():
        assert reply.headers[name] == value, name
    assert "*" not in reply.headers.get_all("Access-Control-Allow-Origin", [])


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Roots pyodide/, wheels/, harness/, a tests.zip file and a secret outside them."""
    pyodide = tmp_path / "pyodide"
    (pyodide / "sub").mkdir(parents=True)
    (pyodide / "pyodide.asm.wasm").write_bytes(WASM)
    (pyodide / "pyodide.mjs").write_text("export const x = 1;\n")
    (pyodide / "pyodide.asm.js").write_text("var x = 1;\n")
    (pyodide / "pyodide-lock.json").write_text("{}")
    (pyodide / "python_stdlib.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (pyodide / "pkg.tar").write_bytes(b"tar")
    (pyodide / "pkg.data").write_bytes(b"data")
    (pyodide / "LICENSE").write_text("MIT\n")
    (pyodide / "page.html").write_text("<!doctype html><title>t</title>\n")
    (pyodide / "sub" / "inner.txt").write_text("inner\n")
    (pyodide / "with space+plus.txt").write_text("spaced\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    (pyodide / "escape").symlink_to(outside / "secret.txt")
    (pyodide / "escape_dir").symlink_to(outside, target_is_directory=True)
    (pyodide / "alias.wasm").symlink_to("pyodide.asm.wasm")
    (pyodide / "sub_alias").symlink_to("sub", target_is_directory=True)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "demo-1.0-py3-none-any.whl").write_bytes(b"PK wheel")
    harness = tmp_path / "harness"
    harness.mkdir()
    (tmp_path / "tests.zip").write_bytes(b"PK tests")
    return tmp_path


@pytest.fixture
def server(tree: Path) -> Iterator[Server]:
    roots = {name: tree / name for name in ("pyodide", "wheels", "harness")}
    with Server(roots, {"tests.zip": tree / "tests.zip"}) as running:
        yield running


def path_of(server: Server, rest: str) -> str:
    """Request target ``/<token>/<rest>``."""
    return f"/{server.token}/{rest}"


# -- serving -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rest", "content_type", "content"),
    [
        ("pyodide/pyodide.asm.wasm", "application/wasm", WASM),
        ("pyodide/pyodide.mjs", "text/javascript", b"export const x = 1;\n"),
        ("pyodide/pyodide.asm.js", "text/javascript", b"var x = 1;\n"),
        ("pyodide/page.html", "text/html; charset=utf-8", b"<!doctype html><title>t</title>\n"),
        ("pyodide/pyodide-lock.json", "application/json", b"{}"),
        ("pyodide/python_stdlib.zip", "application/zip", b"PK\x05\x06" + b"\0" * 18),
        ("pyodide/pkg.tar", "application/x-tar", b"tar"),
        ("pyodide/pkg.data", "application/octet-stream", b"data"),
        ("pyodide/LICENSE", DEFAULT_CONTENT_TYPE, b"MIT\n"),
        ("pyodide/sub/inner.txt", "text/plain; charset=utf-8", b"inner\n"),
        ("wheels/demo-1.0-py3-none-any.whl", "application/zip", b"PK wheel"),
        ("tests.zip", "application/zip", b"PK tests"),
    ],
)
def test_serves_file_with_type_and_isolation_headers(
    server: Server, rest: str, content_type: str, content: bytes
) -> None:
    reply = request(server, path_of(server, rest))
    assert reply.status == 200
    assert reply.body == content
    assert reply.headers["Content-Type"] == content_type
    assert reply.headers["Content-Length"] == str(len(content))
    assert_isolated(reply)
    assert server.served[-1] == rest


def test_content_type_table_covers_the_distribution() -> None:
    assert CONTENT_TYPES[".wasm"] == "application/wasm"
    assert CONTENT_TYPES[".mjs"] == CONTENT_TYPES[".js"] == "text/javascript"


def test_head_sends_headers_only(server: Server) -> None:
    reply = request(server, path_of(server, "pyodide/pyodide.asm.wasm"), method="HEAD")
    assert reply.status == 200
    assert reply.headers["Content-Length"] == str(len(WASM))
    assert reply.headers["Content-Type"] == "application/wasm"
    assert reply.body == b""
    assert_isolated(reply)


def test_keep_alive_serves_several_files_on_one_connection(server: Server) -> None:
    conn = http.client.HTTPConnection(HOST, server.port, timeout=10)
    try:
        for rest, content in [("pyodide/pyodide.asm.wasm", WASM), ("pyodide/pkg.data", b"data")]:
            conn.request("GET", path_of(server, rest))
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, content)
    finally:
        conn.close()


def test_url_quotes_and_is_served(server: Server) -> None:
    url = server.url("pyodide", "with space+plus.txt")
    assert url == f"{server.base_url}pyodide/with%20space%2Bplus.txt"
    reply = request(server, url.removeprefix(server.origin))
    assert (reply.status, reply.body) == (200, b"spaced\n")


def test_query_string_is_ignored(server: Server) -> None:
    reply = request(server, path_of(server, "pyodide/pkg.data?v=1"))
    assert (reply.status, reply.body) == (200, b"data")


@pytest.mark.parametrize("rest", ["pyodide/alias.wasm", "pyodide/sub_alias/inner.txt"])
def test_symlink_inside_root_is_served(server: Server, rest: str) -> None:
    reply = request(server, path_of(server, rest))
    assert reply.status == 200
    assert reply.body in (WASM, b"inner\n")


def test_extra_headers_are_sent(tree: Path) -> None:
    with Server({"pyodide": tree / "pyodide"}, extra_headers={"X-Harness": "yes"}) as server:
        for target in (path_of(server, "pyodide/pkg.data"), "/nope"):
            assert request(server, target).headers["X-Harness"] == "yes"


# -- refusals ------------------------------------------------------------------


def test_wrong_or_missing_token_is_404(server: Server) -> None:
    token = server.token
    other = secrets.token_urlsafe(24)
    targets = [
        "/pyodide/pkg.data",
        "/",
        "",  # http.client sends "/" for an empty target
        f"/{other}/pyodide/pkg.data",
        f"/{token[:-1]}/pyodide/pkg.data",
        f"/{token}x/pyodide/pkg.data",
        f"/{token.swapcase()}/pyodide/pkg.data",
        f"/%{token}/pyodide/pkg.data",
        f"//{token}/pyodide/pkg.data",
    ]
    for target in targets:
        reply = request(server, target)
        assert reply.status == 404, target
        assert token.encode() not in reply.body
        assert b"pyodide" not in reply.body
        assert_isolated(reply)
    assert server.served == ()
    assert all(r.reason == "wrong or missing token" for r in server.refused)


@pytest.mark.parametrize(
    "rest",
    [
        "pyodide/../outside/secret.txt",
        "pyodide/%2e%2e/outside/secret.txt",
        "pyodide/%2E%2E%2Foutside%2Fsecret.txt",
        "pyodide/%2e%2e%2foutside%2fsecret.txt",
        "pyodide/%252e%252e/outside/secret.txt",
        "pyodide/%252e%252e%252foutside%252fsecret.txt",
        "pyodide/..%5coutside%5csecret.txt",
        "pyodide/%2e%2e%5Coutside%5Csecret.txt",
        "pyodide/..\\outside\\secret.txt",
        "pyodide/./../outside/secret.txt",
        "pyodide/sub/../../outside/secret.txt",
        "../outside/secret.txt",
        "%2e%2e/outside/secret.txt",
        "pyodide/./pkg.data",  # dot segments are refused even when they stay inside
        "pyodide/sub/../pkg.data",
        "pyodide/pkg.data%00.txt",
        "pyodide/" + "%2F" + "etc/passwd",
        "pyodide//etc/passwd",
        "pyodide/C:%5cwindows%5cwin.ini",
        "pyodide/escape",  # symlink to a file outside the root
        "pyodide/escape_dir/secret.txt",  # symlinked directory outside the root
        "pyodide/%C0%AE%C0%AE/outside/secret.txt",  # overlong UTF-8 for ".."
        "pyodide/%FF",
    ],
)
def test_traversal_is_refused(server: Server, rest: str) -> None:
    reply = request(server, path_of(server, rest))
    assert reply.status == 404
    assert SECRET not in reply.body
    assert_isolated(reply)
    assert server.served == ()
    (refusal,) = server.refused
    # Refused by a guard, not merely because the joined path did not exist.
    assert refusal.reason != REASON_NO_SUCH_FILE
    assert server.token not in refusal.target


def test_absolute_filesystem_path_is_refused(server: Server, tree: Path) -> None:
    secret = (tree / "outside" / "secret.txt").as_posix()
    for target in (path_of(server, "pyodide") + secret, secret, "/" + server.token + secret):
        reply = request(server, target)
        assert reply.status == 404, target
        assert SECRET not in reply.body
    absolute_form = f"http://{HOST}:{server.port}{path_of(server, 'pyodide/pkg.data')}"
    assert request(server, absolute_form).status == 404
    assert server.served == ()


def test_raw_nul_and_non_ascii_bytes_are_refused(server: Server) -> None:
    host = f"Host: {HOST}:{server.port}\r\n".encode()
    for target in (b"pyodide/pkg.data\0.txt", b"pyodide/\xc3\xa9.txt", b"pyodide/pkg\x01.data"):
        data = b"GET /" + server.token.encode() + b"/" + target + b" HTTP/1.1\r\n" + host + b"\r\n"
        reply = raw_request(server, data)
        assert reply.status in (400, 404), target
        assert_isolated(reply)
    assert server.served == ()


@pytest.mark.parametrize(
    "rest",
    ["", "pyodide", "pyodide/", "pyodide/sub", "pyodide/sub/", "pyodide/sub_alias", "wheels/"],
)
def test_directory_is_not_listed(server: Server, rest: str) -> None:
    reply = request(server, path_of(server, rest))
    assert reply.status == 404
    assert b"inner" not in reply.body and b"pkg" not in reply.body
    assert server.served == ()


def test_paths_below_a_file_or_unknown_root_are_404(server: Server) -> None:
    for rest in ("tests.zip/x", "nope/pkg.data", "pyodide/missing.wasm"):
        assert request(server, path_of(server, rest)).status == 404


def test_symlink_loop_is_404(server: Server, tree: Path) -> None:
    (tree / "pyodide" / "loop_a").symlink_to("loop_b")
    (tree / "pyodide" / "loop_b").symlink_to("loop_a")
    assert request(server, path_of(server, "pyodide/loop_a")).status == 404
    assert request(server, path_of(server, "pyodide/pkg.data")).status == 200


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_is_not_opened(server: Server, tree: Path) -> None:
    os.mkfifo(tree / "pyodide" / "pipe")
    assert request(server, path_of(server, "pyodide/pipe")).status == 404


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:{port}",
        "evil.example",
        "127.0.0.1:{other}",
        "localhost:{other}",
        "127.0.0.1",
        "localhost",
        "127.0.0.1:{port}.evil.example",
        "127.0.0.2:{port}",
        "[::1]:{port}",
        "",
    ],
)
def test_foreign_host_is_refused(server: Server, host: str) -> None:
    other = server.port + 1 if server.port < 65535 else server.port - 1
    host = host.format(port=server.port, other=other)
    reply = request(server, path_of(server, "pyodide/pkg.data"), host=host)
    assert reply.status == 421
    assert reply.body != b"data"
    assert_isolated(reply)
    assert server.served == ()


def test_missing_or_repeated_host_is_refused(server: Server) -> None:
    target = path_of(server, "pyodide/pkg.data")
    assert request(server, target, send_host=False).status == 421
    good = f"{HOST}:{server.port}"
    assert request(server, target, headers=[("Host", good)]).status == 421  # two Host headers
    assert server.served == ()


@pytest.mark.parametrize("host", ["localhost:{port}", "LOCALHOST:{port}", "127.0.0.1:{port}"])
def test_loopback_hosts_are_accepted(server: Server, host: str) -> None:
    reply = request(server, path_of(server, "pyodide/pkg.data"), host=host.format(port=server.port))
    assert reply.status == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW"])
def test_other_methods_are_405(server: Server, method: str) -> None:
    reply = request(server, path_of(server, "pyodide/pkg.data"), method=method)
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, HEAD"
    assert reply.headers["Connection"] == "close"
    assert_isolated(reply)
    assert server.served == ()


def test_post_with_a_body_and_no_token_reveals_nothing(server: Server) -> None:
    reply = request(server, "/pyodide/pkg.data", method="POST", headers=[("Content-Length", "0")])
    assert reply.status == 404
    assert "Allow" not in reply.headers


def test_malformed_request_is_refused_quietly(server: Server) -> None:
    for line in (b"GET / HTTP/1.x\r\n", b"GET / HTTP/9.9\r\n"):
        reply = raw_request(server, line + f"Host: {HOST}:{server.port}\r\n\r\n".encode())
        assert reply.status in (400, 505)
        assert_isolated(reply)
    assert [r.status for r in server.refused] == [400, 505]


def test_no_wildcard_cors_anywhere(server: Server) -> None:
    replies = [
        request(server, path_of(server, "pyodide/pkg.data"), headers=[("Origin", "null")]),
        request(server, path_of(server, "nope"), headers=[("Origin", "https://evil.example")]),
        request(server, "/x", method="OPTIONS", headers=[("Origin", "https://evil.example")]),
        request(server, path_of(server, "pkg"), host="evil.example"),
    ]
    for reply in replies:
        assert "Access-Control-Allow-Origin" not in reply.headers


# -- what a page and its workers may reach ----------------------------------------


def directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy as {directive: sources}."""
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} given twice"
        parsed[name] = sources
    return parsed


# The harness's own page, its script and the worker script, as the browsers load them,
# and a refusal: a page or worker takes its policy from its own response.
POLICY_TARGETS = ("harness/harness.html", "harness/harness_page.mjs",
                  "harness/browser_worker.mjs", "pyodide/pyodide.mjs", "nope")


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_policy_headers_on_page_and_worker_per_sandbox_mode(tree: Path, sandbox: Sandbox) -> None:
    roots = {"pyodide": tree / "pyodide", "harness": JS_DIR}
    with Server(roots, sandbox=sandbox) as server:
        replies = [request(server, path_of(server, rest)) for rest in POLICY_TARGETS]
    assert [r.status for r in replies] == [200, 200, 200, 200, 404]
    for reply in replies:
        assert reply.headers["Referrer-Policy"] == "no-referrer"  # the token never leaves
        assert reply.headers.get_all("Content-Security-Policy", []) == (
            [] if sandbox == "off" else [CONTENT_SECURITY_POLICIES[sandbox]])
        assert_isolated(reply)


def test_default_policy_confines_to_the_server_itself() -> None:
    policy = CONTENT_SECURITY_POLICIES["on"]
    assert policy is not None
    parsed = directives(policy)
    assert parsed["default-src"] == ["'self'"]
    assert parsed["connect-src"] == ["'self'", "data:", "blob:"]  # nothing that leaves the browser
    assert parsed["script-src"] == ["'self'", "'wasm-unsafe-eval'", "'unsafe-eval'"]
    assert parsed["object-src"] == parsed["base-uri"] == parsed["form-action"] == ["'none'"]
    # Nothing falls back to a wider default: every fetch directive is 'self' or narrower.
    assert "*" not in policy and "http" not in policy and "'unsafe-inline'" not in policy


def test_network_policy_relaxes_connections_only() -> None:
    assert set(CONTENT_SECURITY_POLICIES) == set(SANDBOX_MODES)
    on, network = CONTENT_SECURITY_POLICIES["on"], CONTENT_SECURITY_POLICIES["network"]
    assert on is not None and network is not None
    relaxed = directives(network)
    assert "*" in relaxed["connect-src"] and {"ws:", "wss:"} <= set(relaxed["connect-src"])
    assert {k: v for k, v in relaxed.items() if k != "connect-src"} == {
        k: v for k, v in directives(on).items() if k != "connect-src"}
    assert CONTENT_SECURITY_POLICIES["off"] is None


def test_default_server_is_confined(server: Server) -> None:
    reply = request(server, path_of(server, "pyodide/pyodide.mjs"))
    assert reply.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICIES["on"]


def test_unknown_sandbox_mode_is_refused(tree: Path) -> None:
    with pytest.raises(ValueError, match="Unknown sandbox mode 'lax'"):
        Server({"pyodide": tree / "pyodide"}, sandbox="lax")  # type: ignore[arg-type]


def test_harness_page_has_no_inline_script() -> None:
    """The policy runs scripts from the server only; an inline one would not run."""
    page = (JS_DIR / "harness.html").read_text()
    tags = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S)
    assert tags and all(not body.strip() for body in tags)
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", page))


# -- records and quietness -------------------------------------------------------


def test_records_are_kept_and_nothing_is_printed(
    server: Server, capfd: pytest.CaptureFixture[str]
) -> None:
    request(server, path_of(server, "pyodide/pkg.data"))
    request(server, path_of(server, "pyodide/../outside/secret.txt"))
    request(server, "/wrong/pyodide/pkg.data", method="DELETE")
    raw_request(server, b"NONSENSE\r\n\r\n")
    assert server.served == ("pyodide/pkg.data",)
    assert [(r.status, r.method) for r in server.refused] == [
        (404, "GET"),
        (404, "DELETE"),
        (400, "?"),
    ]
    assert server.refused[2].target == "NONSENSE"
    assert server.refused[0].target == "/<token>/pyodide/../outside/secret.txt"
    assert capfd.readouterr() == ("", "")


# -- construction, addresses and lifecycle ---------------------------------------


def test_bound_to_loopback_only(server: Server) -> None:
    assert server.address == (HOST, server.port)
    assert server.port > 0
    assert server.base_url == f"http://{HOST}:{server.port}/{server.token}/"


def test_token_is_unguessable_and_per_run(tree: Path) -> None:
    tokens = {Server({"pyodide": tree / "pyodide"}).token for _ in range(5)}
    assert len(tokens) == 5
    assert all(len(token) >= 32 for token in tokens)


def test_url_building(server: Server) -> None:
    assert server.url("pyodide") == server.base_url + "pyodide/"
    assert server.url("pyodide", "sub/inner.txt") == server.base_url + "pyodide/sub/inner.txt"
    assert server.url("tests.zip") == server.base_url + "tests.zip"
    for root, rel in [
        ("tests.zip", "x"),
        ("nope", ""),
        ("pyodide", "../x"),
        ("pyodide", "/etc/passwd"),
        ("pyodide", "a\\b"),
        ("pyodide", "a//b"),
    ]:
        with pytest.raises(ValueError):
            server.url(root, rel)


@pytest.mark.parametrize(
    ("roots", "files", "extra_headers"),
    [
        ({"pyodide": "missing"}, {}, {}),
        ({"pyodide": "tests.zip"}, {}, {}),
        ({"a/b": "pyodide"}, {}, {}),
        ({"..": "pyodide"}, {}, {}),
        ({}, {"tests.zip": "missing.zip"}, {}),
        ({}, {"tests.zip": "pyodide"}, {}),
        ({"x": "pyodide"}, {"x": "tests.zip"}, {}),
        ({}, {}, {"Access-Control-Allow-Origin": "*"}),
        ({}, {}, {"Cross-Origin-Embedder-Policy": "unsafe-none"}),
        ({}, {}, {"content-type": "text/html"}),
        ({}, {}, {"Content-Security-Policy": "default-src *"}),
        ({}, {}, {"Referrer-Policy": "unsafe-url"}),
        ({}, {}, {"X-Bad": "a\r\nSet-Cookie: x"}),
        ({}, {}, {"Bad Name": "x"}),
    ],
)
def test_constructor_validation(
    tree: Path, roots: dict[str, str], files: dict[str, str], extra_headers: dict[str, str]
) -> None:
    with pytest.raises(ValueError):
        Server(
            {name: tree / rel for name, rel in roots.items()},
            {name: tree / rel for name, rel in files.items()},
            extra_headers=extra_headers,
        )


def test_not_running_and_double_start(tree: Path) -> None:
    server = Server({"pyodide": tree / "pyodide"})
    with pytest.raises(RuntimeError):
        _ = server.base_url
    server.close()  # closing a server that never started is fine
    with pytest.raises(RuntimeError):
        server.start()
    with Server({"pyodide": tree / "pyodide"}) as running, pytest.raises(RuntimeError):
        running.start()


def test_close_frees_the_port_and_cuts_keep_alive(tree: Path) -> None:
    server = Server({"pyodide": tree / "pyodide"}).start()
    port = server.port
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.request("GET", path_of(server, "pyodide/pkg.data"))
    assert conn.getresponse().read() == b"data"
    server.close()
    server.close()
    assert f"pyodide-harness-server-{port}" not in {t.name for t in threading.enumerate()}
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, port), timeout=5).close()
    # The idle keep-alive connection was shut down, not left serving.
    with pytest.raises((http.client.HTTPException, OSError)):
        conn.request("GET", path_of(server, "pyodide/pkg.data"))
        conn.getresponse().read()
    conn.close()
    with pytest.raises(RuntimeError):
        _ = server.port


# -- a real browser --------------------------------------------------------------

PAGE = "<!doctype html><meta charset='utf-8'><title>isolation</title>\n"
WORKER = "self.postMessage({isolated: self.crossOriginIsolated, sab: typeof SharedArrayBuffer});\n"
PROBE = """async ([wasmUrl, workerUrl]) => {
  const module = await WebAssembly.compileStreaming(fetch(wasmUrl));
  const worker = new Worker(workerUrl, {type: "module"});
  const fromWorker = await new Promise((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => reject(new Error("worker failed: " + event.message));
  });
  worker.terminate();
  return {
    isolated: self.crossOriginIsolated,
    sab: typeof SharedArrayBuffer,
    module: module instanceof WebAssembly.Module,
    worker: fromWorker,
  };
}"""


@pytest.mark.browser
def test_chromium_is_isolated_and_streams_wasm(tree: Path) -> None:
    from playwright.sync_api import sync_playwright

    harness = tree / "harness"
    (harness / "page.html").write_text(PAGE)
    (harness / "worker.mjs").write_text(WORKER)
    with (
        Server({"pyodide": tree / "pyodide", "harness": harness}) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            response = page.goto(server.url("harness", "page.html"))
            assert response is not None and response.status == 200
            result = page.evaluate(
                PROBE,
                [server.url("pyodide", "pyodide.asm.wasm"), server.url("harness", "worker.mjs")],
            )
        finally:
            browser.close()
    assert result == {
        "isolated": True,
        "sab": "function",
        "module": True,
        "worker": {"isolated": True, "sab": "function"},
    }
    assert "pyodide/pyodide.asm.wasm" in server.served
    assert "harness/worker.mjs" in server.served
