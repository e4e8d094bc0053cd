"""Cutting long test texts for the reports and naming the side files with the whole texts."""

from __future__ import annotations

import re
from pathlib import Path

from pyodide_harness.reports.longtext import (
    CUT_MARKER,
    MAX_MESSAGE_CHARS,
    MAX_TEXT_CHARS,
    MESSAGE_CUT,
    OUTPUT_DIR,
    TRACEBACK,
    SideFiles,
    cut_message,
    cut_text,
    encode_text,
    portable_name,
    side_file_path,
)
from pyodide_harness.results import TestResult

# the line CUT_MARKER fills in, its numbers and path captured
MARKER_LINE = re.compile(
    "^"
    + re.escape(CUT_MARKER)
    .replace(r"\{chars:,\}", "(?P<chars>[0-9,]+)")
    .replace(r"\{total:,\}", "(?P<total>[0-9,]+)")
    .replace(r"\{lines:,\}", "(?P<lines>[0-9,]+)")
    .replace(r"\{path\}", "(?P<path>.+)")
    + "$",
    re.MULTILINE,
)


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _split(shown: str) -> tuple[str, dict[str, str], str]:
    """Head, the marker's fields and tail of a cut text."""
    (match,) = MARKER_LINE.finditer(shown)
    return shown[:match.start()], match.groupdict(), shown[match.end() + 1:]


def test_short_text_is_kept_whole() -> None:
    text = "x" * MAX_TEXT_CHARS
    assert cut_text(text, "output/a.txt") == text
    assert cut_message("m" * MAX_MESSAGE_CHARS) == "m" * MAX_MESSAGE_CHARS


def test_long_text_keeps_whole_lines_of_head_and_tail_and_counts_the_cut() -> None:
    lines = [f"line {number:06d}\n" for number in range(20_000)]  # 12 characters each
    text = "".join(lines)
    shown = cut_text(text, "output/node/x.txt", limit=1200)
    head, marker, tail = _split(shown)
    # head and tail are whole lines of the text: the marker got no line break of its own
    assert text.startswith(head) and text.endswith(tail) and tail.startswith("line ")
    assert 300 <= len(head) <= 600 and 300 <= len(tail) <= 600
    assert marker["path"] == "output/node/x.txt"
    assert _number(marker["total"]) == len(text)
    assert _number(marker["chars"]) == len(text) - len(head) - len(tail)
    assert _number(marker["lines"]) == 20_000 - head.count("\n") - tail.count("\n")


def test_text_without_line_breaks_is_cut_at_the_limit() -> None:
    text = "a" * 5000 + "b" * 5000
    head, marker, tail = _split(cut_text(text, "p", limit=1000))
    assert head == "a" * 500 + "\n"  # the marker goes on a line of its own
    assert tail == "b" * 500
    assert _number(marker["chars"]) == 9000 and _number(marker["lines"]) == 0


def test_message_cut_says_how_much_more() -> None:
    message = "m" * (MAX_MESSAGE_CHARS + 10)
    assert cut_message(message) == "m" * MAX_MESSAGE_CHARS + MESSAGE_CUT.format(chars=10)


def test_portable_names() -> None:
    assert portable_name("tests/test_x.py::test_y[a b/é]", 100) == "tests_test_x.py_test_y_a_b"
    assert portable_name("..hidden.", 100) == "hidden"
    assert portable_name("???", 100) == "_"
    # Windows device names, alone or with an extension, whatever their case
    for reserved in ("con", "NUL", "aux.py", "com1", "Lpt9.txt.gz"):
        assert portable_name(reserved, 100) == f"_{reserved}"
    assert portable_name("console", 100) == "console"
    assert portable_name("abcdef", 3) == "abc"
    assert portable_name("abcdef", 3, keep_end=True) == "def"


def test_side_file_paths_are_portable_unique_and_stable() -> None:
    nodeid = "tests/test_x.py::test_y[" + "p" * 300 + "]"
    path = side_file_path("pkg", "node", nodeid, "Captured stdout call")
    assert path.parts[:2] == (OUTPUT_DIR, "node")
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,120}\.txt", path.name), path.name
    assert path == side_file_path("pkg", "node", nodeid, "Captured stdout call")
    others = {
        side_file_path("pkg2", "node", nodeid, "Captured stdout call"),
        side_file_path("pkg", "firefox", nodeid, "Captured stdout call"),
        side_file_path("pkg", "node", nodeid, "Captured stderr call"),
        side_file_path("pkg", "node", nodeid.replace("[p", "[P"), "Captured stdout call"),
        side_file_path("pkg", "node", nodeid + "x", "Captured stdout call"),
    }
    # unique even where file systems ignore case
    names = {str(other).lower() for other in others}
    assert len(names) == 5 and str(path).lower() not in names
    assert side_file_path("p", "web kit/1", "con.py::t", "e").parts[1] == "web_kit_1"
    assert side_file_path("p", "CON", "t", "e").parts[1] == "_CON"


def test_encode_text_gives_back_undecodable_bytes() -> None:
    raw = b"ok \xff\xfe \xe2\x98\x83 end\n"
    assert encode_text(raw.decode("utf-8", "surrogateescape")) == raw
    # a lone surrogate no byte stands behind (from a JavaScript string) is escaped
    assert encode_text("a\ud800b\udcffc") == b"a\\ud800b\xffc"


def test_side_files_written_once_and_only_for_long_texts(tmp_path: Path) -> None:
    side_files = SideFiles(tmp_path, limit=100)
    short = TestResult("t.py::short", "failed", "call", 0.0, "E   x", [("Captured stdout call", "hi")])
    shown_short = side_files.test("pkg", "node", short)
    assert shown_short.cut == [] and shown_short.longrepr.text == "E   x"
    assert not (tmp_path / OUTPUT_DIR).exists()  # no directory when nothing is cut

    text = "y" * 1000
    long = TestResult("t.py::long", "failed", "call", 0.0, text, [("Captured stdout call", text)])
    first = side_files.test("pkg", "node", long)
    second = side_files.test("pkg", "node", long)
    assert first == second
    assert [shown.title for shown in first.cut] == [TRACEBACK, "Captured stdout call"]
    assert len(side_files.written) == 2
    for shown, path in zip(first.cut, side_files.written, strict=True):
        assert path == tmp_path / shown.path
        assert path.read_text() == text
        assert shown.total == 1000 and shown.path in shown.text and len(shown.text) < 300

    error = side_files.runtime_error("pkg", "node", 1, "crash\n" * 100)
    assert error.path and (tmp_path / error.path).read_text() == "crash\n" * 100

    nowhere = SideFiles(None, limit=100).test("pkg", "node", long)
    assert nowhere == first  # the same names, but nothing written
    assert len(side_files.written) == 3
