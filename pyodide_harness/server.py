"""A loopback-only static file server for the Pyodide distribution, wheels and tests.

Browsers cannot load Pyodide from ``file://`` (no module workers, no streaming
wasm compilation, no cross-origin isolation), so the harness serves the files
itself. The server is the only network-facing part of the harness, so it is
deliberately narrow: 127.0.0.1 only, an unguessable per-run token as the first
path segment, only the named roots and files, GET and HEAD only, no directory
listings, and a Host check against DNS rebinding. It never logs to stderr; what
it served and refused is kept on the :class:`Server` for tests and debugging.

Stdlib only: it runs in the pytest process next to everything else.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import re
import secrets
import socket
import socketserver
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from .runners.base import Sandbox

__all__ = ["CONTENT_SECURITY_POLICIES", "CONTENT_TYPES", "DEFAULT_CONTENT_TYPE",
           "ISOLATION_HEADERS", "Refusal", "Server"]

HOST = "127.0.0.1"
ALLOWED_METHODS = ("GET", "HEAD")

# Our own table, not ``mimetypes``: that module reads /etc/mime.types and the
# Windows registry, which are known to map .js to text/plain (module scripts
# then refuse to load) and often lack .wasm (no streaming compilation).
CONTENT_TYPES: Mapping[str, str] = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".tar": "application/x-tar",
    ".data": "application/octet-stream",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".py": "text/x-python; charset=utf-8",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# Sent on every response, refusals included. COOP + COEP make the page and its
# module worker cross-origin isolated, which SharedArrayBuffer needs; CORP lets
# same-origin subresources load under COEP require-corp. no-referrer keeps the
# token (the first path segment of every URL here) out of the Referer header of
# any request a page or worker loaded from here makes, in every sandbox mode.
ISOLATION_HEADERS: Mapping[str, str] = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}

# What a page or worker loaded from here may load and reach. A worker takes its
# policy from its own script's response, not from the page that starts it, so the
# policy goes on every response. 'self' is this server's origin only: another
# loopback port is another origin. data: and blob: stay fetchable because they
# never leave the browser (an offline browser reads them too).
# script-src: 'wasm-unsafe-eval' lets Pyodide compile WebAssembly (its own and every
# package's .so). 'unsafe-eval' is for what Pyodide evaluates as JavaScript:
# pyodide.code.run_js and `from js import eval` (JS eval), the EM_JS and EM_ASM code
# of a side module that has them (eval in pyodide.asm.mjs's dynamic linker), and
# emscripten_run_script. Evaluated code is bound by this same policy, so it reaches
# nothing more; without it those fail with an EvalError.
_POLICY_BASE = (
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)
#: The Content-Security-Policy per sandbox mode: "on" lets a page and its workers
#: reach this server only; "network" lets them connect (fetch, XHR, WebSocket,
#: EventSource) anywhere but still load code only from here; "off" sends none.
CONTENT_SECURITY_POLICIES: Mapping[str, str | None] = {
    "on": "; ".join((*_POLICY_BASE, "connect-src 'self' data: blob:")),
    "network": "; ".join((*_POLICY_BASE, "connect-src * data: blob: ws: wss:")),
    "off": None,
}

# Headers the server owns; extra_headers may not replace them.
_MANAGED_HEADERS = frozenset(
    name.lower()
    for name in (*ISOLATION_HEADERS, "Content-Security-Policy", "Content-Type",
                 "Content-Length", "Connection", "Allow")
)
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
# A raw (still encoded) path segment: printable ASCII only, as browsers send it.
_RAW_SEGMENT_RE = re.compile(r"[\x21-\x7e]*\Z")
# Never valid in a decoded segment: separators, escapes (double encoding), drive
# letters, NUL and other control characters.
_BAD_SEGMENT_RE = re.compile(r"[/\\%:\x00-\x1f\x7f]")
# Idle keep-alive connections are dropped after this many seconds.
_SOCKET_TIMEOUT = 30.0
# Browsers fetch many Pyodide packages in parallel; the stdlib backlog of 5 is small.
_LISTEN_BACKLOG = 64


@dataclass(frozen=True)
class Refusal:
    """One refused request, kept for tests and debugging (the token is redacted)."""

    status: int
    method: str
    target: str
    reason: str


class _Refused(Exception):
    """Raised while routing a request; the client sees only the status, we keep the reason."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _check_name(name: str, kind: str) -> None:
    """Root and file names become one URL segment each, so keep them plain."""
    if not _NAME_RE.match(name) or name in (".", ".."):
        raise ValueError(
            f"Invalid {kind} name {name!r}: use letters, digits, '.', '_' and '-' only"
        )


def _content_type(path: Path) -> str:
    """MIME type by suffix; anything unknown is served as opaque bytes."""
    return CONTENT_TYPES.get(path.suffix.lower(), DEFAULT_CONTENT_TYPE)


def _split_target(target: str, token: str) -> list[str]:
    """Decode a raw request target into path segments after the token.

    Raises ``_Refused`` for anything that is not a plain relative path: each
    segment is percent-decoded exactly once and must then be non-empty, not
    ``.`` or ``..`` and free of separators, ``%`` (double encoding), ``:`` and
    control characters. The token is compared in constant time.
    """
    path = target.partition("?")[0].partition("#")[0]
    if not path.startswith("/"):
        raise _Refused(HTTPStatus.NOT_FOUND, "request target is not an absolute path")
    raw_segments = path[1:].split("/")
    given = raw_segments[0].encode("latin-1", "replace")
    if not hmac.compare_digest(given, token.encode("ascii")):
        raise _Refused(HTTPStatus.NOT_FOUND, "wrong or missing token")
    segments: list[str] = []
    for raw in raw_segments[1:]:
        if not _RAW_SEGMENT_RE.match(raw):
            raise _Refused(HTTPStatus.NOT_FOUND, "non-ASCII or control character in path")
        try:
            segment = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise _Refused(HTTPStatus.NOT_FOUND, "percent-encoding is not UTF-8") from None
        if not segment:
            raise _Refused(HTTPStatus.NOT_FOUND, "empty path segment")
        if segment in (".", ".."):
            raise _Refused(HTTPStatus.NOT_FOUND, "dot segment in path")
        if _BAD_SEGMENT_RE.search(segment):
            raise _Refused(HTTPStatus.NOT_FOUND, "forbidden character in path segment")
        segments.append(segment)
    return segments


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that stays quiet and can cut its open connections."""

    allow_reuse_address = False  # port 0 needs no reuse; on Windows it allows port theft
    request_queue_size = _LISTEN_BACKLOG
    daemon_threads = True

    def __init__(self, owner: Server) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((HOST, 0), _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup (socket.getfqdn can take seconds)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = self.socket.getsockname()[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection before its thread starts, so close() can cut it."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Shut down keep-alive connections so nothing is served after close()."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Record instead of printing a traceback to stderr (the default)."""
        self.owner._record_error()


class _Handler(BaseHTTPRequestHandler):
    """Routes every method through one path so refusals come in a fixed order."""

    protocol_version = "HTTP/1.1"  # keep-alive: a Pyodide boot fetches dozens of files
    timeout = _SOCKET_TIMEOUT
    target = ""  # the raw request target of the current request

    @property
    def _owner(self) -> Server:
        return cast(_HTTPServer, self.server).owner

    def version_string(self) -> str:
        return "pyodide-harness"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: pytest output is not the place for an access log."""

    def parse_request(self) -> bool:
        """Answer methods other than GET/HEAD here; the stdlib would send 501 for them."""
        self.target = ""
        if not super().parse_request():
            return False
        # Route on the target as sent: the stdlib collapses a leading "//" in self.path.
        words = self.requestline.split()
        self.target = words[1] if len(words) >= 2 else ""
        if self.command in ALLOWED_METHODS:
            return True
        self._respond()
        return False  # the response has been sent; handle_one_request stops here

    def do_GET(self) -> None:
        self._respond()

    def do_HEAD(self) -> None:
        self._respond()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests get the same terse, recorded refusal as the rest.

        The stdlib has not yet parsed the version when it rejects a request line, so it
        would answer as HTTP/0.9 (a bare body, no status line); answer with headers.
        """
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        self._refuse(HTTPStatus(code), message or "malformed request")

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        if self._owner.content_security_policy is not None:
            self.send_header("Content-Security-Policy", self._owner.content_security_policy)
        for name, value in self._owner.extra_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def _respond(self) -> None:
        """Check host, then token and path, then method, then serve."""
        owner = self._owner
        try:
            self._check_host()
            segments = _split_target(self.target, owner.token)
            if self.command not in ALLOWED_METHODS:
                raise _Refused(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")
            name, path = owner._lookup(segments)
            self._send_file(name, path)
        except _Refused as refused:
            self._refuse(refused.status, refused.reason)

    def _check_host(self) -> None:
        """DNS rebinding defence: a page on evil.example resolving to us is refused."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or hosts[0].strip().lower() not in self._owner._allowed_hosts:
            raise _Refused(HTTPStatus.MISDIRECTED_REQUEST, f"foreign Host header {hosts!r}")

    def _send_file(self, name: str, path: Path) -> None:
        try:
            f = path.open("rb")
        except OSError:
            raise _Refused(HTTPStatus.NOT_FOUND, "cannot open file") from None
        with f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _Refused(HTTPStatus.NOT_FOUND, "not a regular file")
            size = info.st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", _content_type(path))
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self._owner._record_served(name)
            if self.command == "HEAD" or size == 0:
                return
            # sendfile: zero-copy on Linux, and it honours the byte count, so a file
            # that grows after fstat cannot break keep-alive framing.
            try:
                sent = self.connection.sendfile(f, 0, size)
            except OSError:  # the browser went away, or close() cut the connection
                self.close_connection = True
                return
            if sent != size:
                self.close_connection = True  # the file shrank; framing is broken

    def _refuse(self, status: HTTPStatus, reason: str) -> None:
        """Send a status with no detail, record why, and drop the connection.

        The connection is closed because a refused request may carry an unread body.
        """
        method = getattr(self, "command", None) or "?"
        target = self.target or getattr(self, "requestline", "")
        self._owner._record_refused(Refusal(int(status), method, target, reason))
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", ", ".join(ALLOWED_METHODS))
        self.send_header("Connection", "close")
        self.end_headers()
        if method != "HEAD":
            with contextlib.suppress(OSError):
                self.wfile.write(body)


class Server:
    """Serve named directory roots and single files under a per-run secret token.

    URLs look like ``http://127.0.0.1:PORT/<token>/<name>/<path>``; a root's URL
    ends with ``/`` so it can be used directly as Pyodide's ``indexURL``. Roots
    and files are resolved once, here: a root created later is not picked up.
    ``sandbox`` chooses the Content-Security-Policy (``CONTENT_SECURITY_POLICIES``).
    """

    def __init__(
        self,
        roots: Mapping[str, Path],
        files: Mapping[str, Path] | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        sandbox: Sandbox = "on",
    ) -> None:
        if sandbox not in CONTENT_SECURITY_POLICIES:
            modes = ", ".join(CONTENT_SECURITY_POLICIES)
            raise ValueError(f"Unknown sandbox mode {sandbox!r}; use one of {modes}")
        self.content_security_policy = CONTENT_SECURITY_POLICIES[sandbox]
        files = files or {}
        self._roots: dict[str, Path] = {}
        self._files: dict[str, Path] = {}
        for name, directory in roots.items():
            _check_name(name, "root")
            resolved = Path(directory).resolve()
            if not resolved.is_dir():
                raise ValueError(f"Root {name!r} is not a directory: {directory}")
            self._roots[name] = resolved
        for name, file in files.items():
            _check_name(name, "file")
            if name in self._roots:
                raise ValueError(f"Name {name!r} is used for both a root and a file")
            resolved = Path(file).resolve()
            if not resolved.is_file():
                raise ValueError(f"File {name!r} is not a regular file: {file}")
            self._files[name] = resolved
        self.extra_headers: Mapping[str, str] = _check_extra_headers(extra_headers or {})
        self.token = secrets.token_urlsafe(24)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._allowed_hosts: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._served: list[str] = []
        self._refused: list[Refusal] = []
        self._errors = 0

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> Server:
        """Bind a free loopback port and serve from a daemon thread."""
        if self._httpd is not None or self._closed:
            raise RuntimeError("Server.start() called twice; create a new Server instead")
        httpd = _HTTPServer(self)
        port = httpd.server_port
        self._allowed_hosts = frozenset({f"{HOST}:{port}", f"localhost:{port}"})
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"pyodide-harness-server-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, cut open connections and free the port; safe to call twice."""
        self._closed = True
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.cut_connections()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- addresses ---------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the listening socket is actually bound to."""
        host, port = self._running().socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        return self.address[1]

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``, e.g. for checking a page's location."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/<token>/`` (with the trailing slash)."""
        return f"{self.origin}/{self.token}/"

    def url(self, root: str, relpath: str = "") -> str:
        """URL of a file under a root (or of the root itself, ending in ``/``), or a named file."""
        if root in self._files:
            if relpath:
                raise ValueError(f"{root!r} is a single file; it has no path {relpath!r} below it")
            return self.base_url + root
        if root not in self._roots:
            known = ", ".join(sorted([*self._roots, *self._files])) or "none"
            raise ValueError(f"Unknown root {root!r}; known roots and files: {known}")
        if not relpath:
            return f"{self.base_url}{root}/"
        segments = relpath.split("/")
        for segment in segments:
            if not segment or segment in (".", "..") or "\\" in segment or "\0" in segment:
                raise ValueError(f"Invalid path {relpath!r}: use a plain relative POSIX path")
        return f"{self.base_url}{root}/" + "/".join(quote(s, safe="") for s in segments)

    # -- records -----------------------------------------------------------

    @property
    def served(self) -> tuple[str, ...]:
        """Every ``name/path`` served, in order (HEAD requests included)."""
        with self._lock:
            return tuple(self._served)

    @property
    def refused(self) -> tuple[Refusal, ...]:
        """Every refused request, in order, with the reason the client did not see."""
        with self._lock:
            return tuple(self._refused)

    @property
    def errors(self) -> int:
        """Handler exceptions swallowed instead of printed (e.g. connections cut on close)."""
        with self._lock:
            return self._errors

    # -- internals used by the handler -------------------------------------

    def _running(self) -> _HTTPServer:
        if self._httpd is None:
            raise RuntimeError("Server is not running; call start() or use it as a context manager")
        return self._httpd

    def _lookup(self, segments: list[str]) -> tuple[str, Path]:
        """Map decoded segments to a file inside a root, or raise ``_Refused``."""
        if not segments:
            raise _Refused(HTTPStatus.NOT_FOUND, "no root named")
        name, rest = segments[0], segments[1:]
        if name in self._files:
            if rest:
                raise _Refused(HTTPStatus.NOT_FOUND, "path below a single file")
            return name, self._files[name]
        root = self._roots.get(name)
        if root is None:
            raise _Refused(HTTPStatus.NOT_FOUND, "unknown root")
        if not rest:
            raise _Refused(HTTPStatus.NOT_FOUND, "directory listing")
        try:
            resolved = root.joinpath(*rest).resolve()
        except (OSError, RuntimeError):  # RuntimeError: symlink loop on Python < 3.13
            raise _Refused(HTTPStatus.NOT_FOUND, "cannot resolve path") from None
        if resolved == root or not resolved.is_relative_to(root):
            raise _Refused(HTTPStatus.NOT_FOUND, "path leaves its root")
        if resolved.is_dir():
            raise _Refused(HTTPStatus.NOT_FOUND, "directory listing")
        if not resolved.is_file():
            raise _Refused(HTTPStatus.NOT_FOUND, "no such file")
        return "/".join(segments), resolved

    def _record_served(self, name: str) -> None:
        with self._lock:
            self._served.append(name)

    def _record_refused(self, refusal: Refusal) -> None:
        redacted = refusal.target.replace(self.token, "<token>")
        with self._lock:
            self._refused.append(Refusal(refusal.status, refusal.method, redacted, refusal.reason))

    def _record_error(self) -> None:
        with self._lock:
            self._errors += 1


def _check_extra_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Refuse headers that would break framing, isolation or add wildcard CORS."""
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not _HEADER_NAME_RE.match(name) or any(c in value for c in "\r\n\0"):
            raise ValueError(f"Invalid extra header {name!r}: {value!r}")
        if name.lower() in _MANAGED_HEADERS:
            raise ValueError(f"Extra header {name!r} is set by the server itself")
        if name.lower() == "access-control-allow-origin" and value.strip() == "*":
            raise ValueError("Wildcard CORS (Access-Control-Allow-Origin: *) is not allowed")
        checked[name] = value
    return checked
