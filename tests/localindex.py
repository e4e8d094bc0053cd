"""A local package index for tests that run pip: a directory pip sees as its only source.

pip is pointed at it through PIP_* variables, and the machine's pip configuration
is switched off, so a test never reaches PyPI by accident.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pyodide_harness import piprun, resolver

#: The tag of a compiled wheel for Pyodide 314.
PYODIDE_TAG = "cp314-cp314-pyemscripten_2026_0_wasm32"


def use_local_index(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make ``directory`` (created if needed) pip's only find-links source."""
    directory.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(directory))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_REQUIRE_VIRTUALENV"):
        monkeypatch.delenv(name, raising=False)
    return directory


@contextmanager
def served(directory: Path, requests: list[str] | None = None) -> Iterator[str]:
    """Serve ``directory`` over HTTP on the loopback interface; yields the base URL.

    Each GET path is appended to ``requests`` when given.
    """

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)

        def do_GET(self) -> None:
            if requests is not None:
                requests.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class PipCalls:
    """Counts the resolver's pip runs by command while letting them through."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.commands: list[str] = []
        real = piprun.run_pip

        def counting(arguments: Sequence[str], **kwargs: Any) -> piprun.PipRun:
            self.commands.append(arguments[0])
            return real(arguments, **kwargs)

        monkeypatch.setattr(resolver, "run_pip", counting)
