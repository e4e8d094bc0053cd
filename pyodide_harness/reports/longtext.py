"""Long test text: capped in JUnit and HTML, kept whole in a side file the reports point to.

A test that prints 50 MB would otherwise put 50 MB into junit.xml, again into
junit-<runtime>.xml and into index.html, which CI viewers and browsers cannot show
anyway. Each text a report shows (a traceback, each captured section, a runtime error)
longer than ``MAX_TEXT_CHARS`` keeps its head and tail around a marker line that says
how much was cut and where the whole text is: ``output/<runtime>/<name>-<hash>.txt``
under the report directory, written only for texts that were cut. results.json keeps
every text whole: it is what ``pyodide-harness report`` re-renders from.

Everything here costs time in proportion to what is kept, plus one pass over a cut text
to count its lines and one to write it; nothing is ever copied piece by piece.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pyodide_harness.results import TestResult

MAX_TEXT_CHARS = 64 * 1024
"""Characters of one text (traceback, captured section, runtime error) the reports keep.

64 Ki characters is about 800 lines of 80 columns: a whole pytest traceback, and the
start and end of any output, where a test's output says what it was doing and how it
ended. It is below what CI viewers keep of a failing test's output themselves (Jenkins'
JUnit plugin 50,000 + 50,000 characters, CTest 300 KiB), so they show the marker rather
than cut again, and a report with a hundred such tests still opens in a browser.
"""

MAX_MESSAGE_CHARS = 4096
"""Characters of a test's one-line message (a failure's ``message=``, a skip reason).

The message goes into attributes and titles, some of them repeated per test, and has
no side file: the traceback, which holds the message too, has one. pytest itself cuts an
assertion explanation at 8 lines or 640 characters unless run with ``-vv``.
"""

OUTPUT_DIR = "output"
"""Directory under the report directory that holds the whole texts."""

CUT_MARKER = (
    "[... pyodide-harness cut {chars:,} of {total:,} characters ({lines:,} lines) here; "
    "the whole text is in {path} ...]"
)
"""The line that stands where a text was cut; *path* is relative to the report directory."""

MESSAGE_CUT = " [... {chars:,} more characters; see the traceback]"
"""Appended to a message cut at ``MAX_MESSAGE_CHARS``."""

TRACEBACK = "Traceback"
"""Title of a test's longrepr among its texts (as the HTML report heads it)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Device names Windows refuses as a file name, alone or followed by an extension.
_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?", re.IGNORECASE)
# Lone surrogates that surrogateescape cannot turn back into the byte they stand for.
_NOT_A_BYTE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def portable_name(name: str, limit: int, keep_end: bool = False) -> str:
    """*name* as a file name every OS accepts: ASCII letters, digits, ``._-``, <= *limit*.

    *keep_end* keeps the end of a long name (where a node id has the test's name and
    parameters) instead of its start.
    """
    safe = _UNSAFE.sub("_", name)
    safe = safe[-limit:] if keep_end else safe[:limit]
    safe = safe.strip("._-") or "_"
    return f"_{safe}" if _RESERVED.fullmatch(safe) else safe


def side_file_path(package: str, runtime: str, owner: str, title: str) -> PurePosixPath:
    """Where the whole text *title* of *owner* (a node id) goes, relative to the report dir.

    ``output/<runtime>/<node id>-<title>-<hash>.txt``: the names are shortened and made
    portable for reading; the hash of package, runtime, node id and title keeps them
    unique (also on case-insensitive file systems) and the same on every re-render.
    """
    key = "\0".join((package, runtime, owner, title)).encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(key).hexdigest()[:12]
    name = f"{portable_name(owner, 50, keep_end=True)}-{portable_name(title, 30)}-{digest}.txt"
    return PurePosixPath(OUTPUT_DIR, portable_name(runtime, 30), name)


def encode_text(text: str) -> bytes:
    """*text* as UTF-8, undecodable bytes kept by ``surrogateescape`` turned back into themselves.

    Other lone surrogates (from JavaScript strings; no byte stands behind them) are
    written as ``\\udxxx`` escapes.
    """
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        escaped = _NOT_A_BYTE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
        return escaped.encode("utf-8", "surrogateescape")


def cut_text(text: str, path: str, limit: int = MAX_TEXT_CHARS) -> str:
    """*text* itself when it has at most *limit* characters, else its head and tail around
    a ``CUT_MARKER`` line naming *path*.

    Head and tail get half of *limit* each and end (start) at a line break when one is
    in the last (first) half of their share, so lines are not cut in the middle.
    """
    if len(text) <= limit:
        return text
    half = limit // 2
    head_end = half
    newline = text.rfind("\n", half // 2, half)
    if newline != -1:
        head_end = newline + 1
    tail_start = len(text) - half
    newline = text.find("\n", tail_start, tail_start + half // 2)
    if newline != -1:
        tail_start = newline + 1
    marker = CUT_MARKER.format(
        chars=tail_start - head_end, total=len(text), path=path,
        lines=text.count("\n", head_end, tail_start),
    )
    head = text[:head_end]
    return f"{head}{'' if head.endswith(chr(10)) else chr(10)}{marker}\n{text[tail_start:]}"


def cut_message(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """*message* cut at *limit* characters with a note of how many more there were."""
    if len(message) <= limit:
        return message
    return message[:limit] + MESSAGE_CUT.format(chars=len(message) - limit)


@dataclass(frozen=True)
class Shown:
    """One text as the reports show it."""

    title: str
    text: str
    """The whole text, or its head and tail around the cut marker."""
    path: str = ""
    """The side file with the whole text, relative to the report directory; "" if not cut."""
    total: int = 0
    """Characters in the whole text."""


@dataclass(frozen=True)
class ShownTest:
    """A test's texts as the reports show them."""

    message: str
    longrepr: Shown
    sections: list[Shown]

    @property
    def cut(self) -> list[Shown]:
        """The texts that were cut, traceback first."""
        return [shown for shown in (self.longrepr, *self.sections) if shown.path]


class SideFiles:
    """Cuts the long texts of a report set and writes each one's whole text once.

    One instance serves every writer of a report set (``write_reports`` shares it), so
    a text shown in junit.xml, junit-<runtime>.xml and index.html is written once.
    With *out_dir* None nothing is written: for rendering a report as text only.
    """

    def __init__(self, out_dir: Path | None, limit: int = MAX_TEXT_CHARS) -> None:
        self.out_dir = out_dir
        self.limit = limit
        self._written: dict[PurePosixPath, Path] = {}
        # (package, runtime, owner, title) -> (text, how it is shown): each writer shows
        # the same long texts, which are cut once
        self._shown: dict[tuple[str, str, str, str], tuple[str, Shown]] = {}

    @property
    def written(self) -> list[Path]:
        """The side files written so far, in the order they were written."""
        return list(self._written.values())

    def show(self, package: str, runtime: str, owner: str, title: str, text: str) -> Shown:
        """*text* as the reports show it; its whole text is written out when it is cut."""
        if len(text) <= self.limit:
            return Shown(title, text, "", len(text))
        key = (package, runtime, owner, title)
        cached = self._shown.get(key)
        if cached is not None and (cached[0] is text or cached[0] == text):
            return cached[1]
        relative = side_file_path(package, runtime, owner, title)
        if self.out_dir is not None and relative not in self._written:
            path = self.out_dir.joinpath(*relative.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encode_text(text))
            self._written[relative] = path
        shown = Shown(title, cut_text(text, str(relative), self.limit), str(relative), len(text))
        self._shown[key] = (text, shown)
        return shown

    def test(self, package: str, runtime: str, test: TestResult) -> ShownTest:
        """The message, traceback and captured sections of *test* as the reports show them."""
        return ShownTest(
            cut_message(test.message),
            self.show(package, runtime, test.nodeid, TRACEBACK, test.longrepr),
            [self.show(package, runtime, test.nodeid, title, text)
             for title, text in test.sections],
        )

    def runtime_error(self, package: str, runtime: str, number: int, text: str) -> Shown:
        """Runtime error *number* (from 1) of *runtime* as the reports show it."""
        return self.show(package, runtime, f"runtime-error-{number}", "error", text)
