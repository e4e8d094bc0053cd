"""One line that says what went wrong, fit for a summary row.

A runtime's crash text starts with whatever the JavaScript engine said, often a stack
frame of the harness's own code or of Pyodide's loader, addressed through the local
server (``http://127.0.0.1:41127/9RRf6Ra8.../pyodide/pyodide.asm.wasm:...``). None of
that tells a maintainer anything, and the URL carries the server's one-time token. A
headline is the first line that is not such a frame, with local addresses cut down to
the file they name; the whole text stays in the report below it, as it was.
"""

from __future__ import annotations

import re

from pyodide_harness.reports.longtext import cut_message

HARNESS_FILES = (
    "pyodide_harness_inner.py", "harness_core.mjs", "harness_page.mjs", "node_driver.mjs",
    "node_commands.mjs", "browser_worker.mjs", "channel.mjs", "pyodide.asm.js",
    "pyodide.asm.mjs", "pyodide.mjs", "pyodide.js",
)
"""Files of the harness and of Pyodide's loader: a location in them is never a headline."""

HEADLINE_CHARS = 300
"""Characters a headline keeps (the text below it is whole)."""

# The harness's server (browsers) and its cache (Node) as the engine spells their files.
_LOCAL_URL = re.compile(
    r"\b(?:https?|wss?)://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?/(?:[A-Za-z0-9_-]{12,}/)?"
)
_FILE_URL = re.compile(r"\bfile://\S*?/pyodide-harness/pyodide/[^/\s]+/")
_JS_FRAME = re.compile(r"^\s*(?:at\s|@|\S*@(?:https?|file|wasm):)")
_IN_HARNESS_FILE = re.compile(
    "(?:" + "|".join(re.escape(name) for name in HARNESS_FILES) + r')(?::\d|", line \d)'
)
_NO_TEXT = "(no text)"


def local_urls_removed(text: str) -> str:
    """*text* with the local server's origin and token (and the cache's file URLs) cut
    down to the path they name: ``pyodide/pyodide.asm.wasm:wasm-function[1934]``."""
    return _FILE_URL.sub("", _LOCAL_URL.sub("", text))


def is_internal(line: str) -> bool:
    """Whether *line* is a JavaScript stack frame or a location in a file of the harness
    (``pyodide_harness_inner.py:203: PyodideTimeout``)."""
    return bool(_JS_FRAME.match(line) or _IN_HARNESS_FILE.search(line))


def headline(text: str, default: str = _NO_TEXT) -> str:
    """The first line of *text* that is not an internal frame, local URLs cut down, at
    most ``HEADLINE_CHARS`` characters; *default* when there is none."""
    for line in text.splitlines():
        line = line.strip()
        if line and not is_internal(line):
            return cut_message(local_urls_removed(line), HEADLINE_CHARS)
    return default
