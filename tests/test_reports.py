"""Reports rendered from the results model: JUnit XML, badges, and index.html in real browsers."""

from __future__ import annotations

import gc
import json
import re
import shutil
import xml.dom.minidom
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped
from test_results import SCRIPT_NODEID, make_results

from pyodide_harness.cli import main
from pyodide_harness.reports import html as html_module
from pyodide_harness.reports import write_reports
from pyodide_harness.reports.badges import (
    Badge,
    overall_badge,
    runtime_badge,
    text_width,
    write_badges,
)
from pyodide_harness.reports.headline import headline
from pyodide_harness.reports.html import csp_hash, render_html, write_html
from pyodide_harness.reports.junit import (
    CAUSE_PROPERTY,
    FULL_TEXT_PROPERTY,
    SUITE_PROPERTIES,
    junit_names,
    safe_filename,
    write_junit,
    xml_safe,
)
from pyodide_harness.reports.longtext import (
    MAX_MESSAGE_CHARS,
    MAX_TEXT_CHARS,
    MESSAGE_CUT,
    OUTPUT_DIR,
    SideFiles,
)
from pyodide_harness.reports.nogc import paused_gc
from pyodide_harness.results import PackageRun, Restart, Results, RuntimeRun, TestResult

_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    out = tmp_path / "report"
    write_reports(make_results(), out)
    return out


def _single(results: Results, name: str) -> Results:
    package = results.package(name)
    assert package is not None
    return Results([package], results.created, results.harness_version)


def test_write_reports_writes_every_file(tmp_path: Path) -> None:
    written = write_reports(make_results(), tmp_path / "out")
    names = [path.name for path in written]
    assert names == [
        "results.json",
        "junit.xml", "junit-node.xml", "junit-chromium.xml", "junit-firefox.xml",
        "index.html",
        "badge.svg", "badge.json", "badge-node.svg", "badge-chromium.svg", "badge-firefox.svg",
    ]
    assert all(path.is_file() and path.parent == tmp_path / "out" for path in written)


# --- JUnit -----------------------------------------------------------------------------


def test_xml_safe_escapes_what_xml_cannot_hold() -> None:
    assert xml_safe("a\x00b\x1b[31mc\x0b\td\ne\r") == "a\\x00b\\x1b[31mc\\x0b\td\ne\r"
    assert xml_safe(b"\xff\xfe".decode("utf-8", "surrogateescape")) == "\\xff\\xfe"
    assert xml_safe("\ud800 \ufffe é ☃ \U0001f600") == "\\ud800 \\ufffe é ☃ \U0001f600"


def test_junit_names_follow_pytest_with_runtime_prefix() -> None:
    assert junit_names("test/test_x.py::TestA::test_y[1]", "node") == (
        "node.test.test_x.TestA", "test_y[1]")
    assert junit_names("test/test_x.py::test_y[a::b/c.py]", "msgpack.node") == (
        "msgpack.node.test.test_x", "test_y[a::b/c.py]")
    assert junit_names("test/test_x.py", "node") == ("node", "test.test_x")
    assert safe_filename("web kit/1") == "web_kit_1"


def test_junit_suites_counts_and_properties(report_dir: Path) -> None:
    xml = JUnitXml.fromfile(str(report_dir / "junit.xml"))
    suites = {suite.name: suite for suite in xml}
    assert list(suites) == ["msgpack-node", "msgpack-chromium", "msgpack-firefox",
                            "tinypkg-node", "tinypkg-chromium", "tinypkg-firefox"]
    stats = {name: (s.tests, s.failures, s.errors, s.skipped) for name, s in suites.items()}
    assert stats == {
        "msgpack-node": (8, 1, 0, 2),
        # failed test, not-run test, and the runtime error as its own case
        "msgpack-chromium": (9, 1, 2, 2),
        "msgpack-firefox": (8, 0, 1, 2),
        "tinypkg-node": (3, 0, 0, 0),
        "tinypkg-chromium": (3, 0, 0, 0),
        "tinypkg-firefox": (2, 0, 0, 0),
    }
    assert (xml.tests, xml.failures, xml.errors) == (33, 2, 3)
    suite_properties = suites["msgpack-node"].properties()  # type: ignore[no-untyped-call]
    properties = {p.name: p.value for p in suite_properties}
    assert set(SUITE_PROPERTIES) <= set(properties)
    assert properties["pyodide_version"] == "314.0.7"
    assert properties["runtime"] == "node"
    assert properties["runtime_version"] == "Node v24.19.0"
    assert properties["jspi"] == "true"
    assert properties["wheel_sha256"] == "a" * 64
    assert properties["package_version"] == "1.2.4"
    assert suites["msgpack-node"].time == 1.5


def test_junit_cases_carry_outcomes_tracebacks_and_output(report_dir: Path) -> None:
    xml = JUnitXml.fromfile(str(report_dir / "junit.xml"))
    chromium = next(suite for suite in xml if suite.name == "msgpack-chromium")
    cases = {(case.classname, case.name): case for case in chromium}
    failed = cases[("msgpack.chromium.test.test_basic", "test_unpack[1]")]
    (failure,) = failed.result
    assert isinstance(failure, Failure)
    assert failure.message == "AssertionError: assert 1 == 2"
    assert "E       AssertionError: assert 1 == 2" in (failure.text or "")
    out = failed.system_out or ""
    assert "Captured stdout call" in out
    assert "nul\\x00 bell\\x07 backspace\\x08 vt\\x0b ff\\x0c \\x1b[31mred\\x1b[0m" in out
    assert "bad bytes \\xff\\xfe end" in out
    assert "\\x1b[33mcareful" in (failed.system_err or "")
    (not_run,) = cases[("msgpack.chromium.test.test_crash", "test_after_crash")].result
    assert isinstance(not_run, Error) and not_run.type == "not-run"
    (crash,) = cases[("msgpack.chromium", "chromium runtime error")].result
    assert isinstance(crash, Error) and crash.message == "Aborted(RuntimeError: unreachable)"
    (skip,) = cases[("msgpack.chromium.test.test_basic.TestSkip", "test_skip")].result
    assert isinstance(skip, Skipped) and skip.message == "needs threads"
    (xfail,) = cases[("msgpack.chromium.test.test_xfail", "test_xfail")].result
    assert isinstance(xfail, Skipped) and xfail.message == "xfail: known bug"
    node = next(suite for suite in xml if suite.name == "msgpack-node")
    evil = next(case for case in node if "<script>" in (case.name or ""))
    assert evil.name == "test_name[<script>alert(1)</script>]"


def test_junit_is_valid_xml_for_elementtree(report_dir: Path) -> None:
    for path in sorted(report_dir.glob("junit*.xml")):
        raw = path.read_bytes()
        assert not _ILLEGAL_XML.search(raw.decode("utf-8")), path
        root = ET.fromstring(raw)
        assert root.tag == "testsuites"
        for suite in root.iter("testsuite"):
            cases = suite.findall("testcase")
            assert int(suite.get("tests", "-1")) == len(cases)
            assert int(suite.get("failures", "-1")) == len(suite.findall("testcase/failure"))
            assert int(suite.get("errors", "-1")) == len(suite.findall("testcase/error"))
            assert int(suite.get("skipped", "-1")) == len(suite.findall("testcase/skipped"))
            names = {p.get("name") for p in suite.findall("properties/property")}
            assert set(SUITE_PROPERTIES) <= names
            # the JUnit schema puts properties before the test cases
            assert suite[0].tag == "properties"
    per_runtime = ET.parse(report_dir / "junit-firefox.xml").getroot()
    assert [s.get("name") for s in per_runtime] == ["msgpack-firefox", "tinypkg-firefox"]


def test_junit_single_package_names_suites_by_runtime(tmp_path: Path) -> None:
    write_reports(_single(make_results(), "msgpack"), tmp_path)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert [s.get("name") for s in root] == ["node", "chromium", "firefox"]
    classnames = {case.get("classname") for case in root.iter("testcase")}
    assert "node.test.test_basic" in classnames


# --- badges ----------------------------------------------------------------------------


def test_badge_json_is_a_shields_endpoint(report_dir: Path) -> None:
    data = json.loads((report_dir / "badge.json").read_text())
    # 22 of the 29 tests that ran (not skipped) passed; chromium reported an error
    assert data == {"schemaVersion": 1, "label": "pyodide 314",
                    "message": "75% passing, 1 error", "color": "yellow"}


def test_badges_show_the_pass_rate_coloured_by_the_gate_verdict(tmp_path: Path) -> None:
    results = make_results()
    tiny = _single(results, "tinypkg")
    assert overall_badge(tiny) == Badge("pyodide 314", "100% passing", "brightgreen")
    assert runtime_badge(tiny, "firefox") == Badge("pyodide 314 firefox", "100% passing",
                                                   "brightgreen")
    tiny.packages[0].runtimes[0].tests[0].outcome = "failed"
    assert overall_badge(tiny) == Badge("pyodide 314", "87% passing", "yellow")  # 7 of 8
    assert runtime_badge(tiny, "node") == Badge("pyodide 314 node", "66% passing", "yellow")
    # skips are not counted; chromium's own error is named and keeps it from green
    assert runtime_badge(results, "chromium") == Badge(
        "pyodide 314 chromium", "70% passing, 1 error", "yellow")  # 7 of 10
    assert overall_badge(Results([])) == Badge("pyodide", "no runs", "lightgrey")
    write_badges(tiny, tmp_path)
    assert json.loads((tmp_path / "badge.json").read_text()) == {
        "schemaVersion": 1, "label": "pyodide 314", "message": "87% passing", "color": "yellow"}


def test_known_failures_only_is_green_but_not_a_higher_pass_rate() -> None:
    """boltons with its 20 Pyodide failures made expected failures by pyodide_xfail: the
    gate passes (green), and the rate stays the 96% that really passed."""
    passed = [TestResult(f"t.py::ok{i}", "passed", "call", 0.0) for i in range(499)]
    failed = [TestResult(f"t.py::no{i}", "failed", "call", 0.0, cause="sockets")
              for i in range(20)]
    xfailed = [TestResult(t.nodeid, "xfailed", "call", 0.0) for t in failed]
    runs = {"failing": [RuntimeRun(rt, {}, passed + failed) for rt in ("node", "firefox")],
            "gated": [RuntimeRun(rt, {}, passed + xfailed) for rt in ("node", "firefox")]}
    badges = {name: overall_badge(Results([PackageRun("boltons", "26.2.0", "w", "0", {}, rs)]))
              for name, rs in runs.items()}
    assert badges == {"failing": Badge("pyodide", "96% passing", "yellow"),
                      "gated": Badge("pyodide", "96% passing", "brightgreen")}
    few = [TestResult("t.py::a", "passed", "call", 0.0), *failed[:2]]
    assert overall_badge(Results([PackageRun("p", "1", "w", "0", {}, [RuntimeRun("node", {}, few)])])
                         ) == Badge("pyodide", "33% passing", "red")
    errored = RuntimeRun("node", {}, [], ["node exited unexpectedly (code=1)"])
    assert overall_badge(Results([PackageRun("p", "1", "w", "0", {}, [errored])])
                         ) == Badge("pyodide", "error", "red")


def test_badge_svg_texts_escaped_and_sized(report_dir: Path) -> None:
    svg = (report_dir / "badge.svg").read_text()
    root = ET.fromstring(svg)
    texts = [el.text for el in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["pyodide 314", "pyodide 314", "75% passing, 1 error", "75% passing, 1 error"]
    assert 'fill="#dfb317"' in svg
    node = ET.parse(report_dir / "badge-node.svg").getroot()
    assert "pyodide 314 node: " in (node.get("aria-label") or "")
    hostile = Badge('<b>"x"</b> & \x1b', "ok", "brightgreen").to_svg()
    assert "<b>" not in hostile
    assert ET.fromstring(hostile).find("{http://www.w3.org/2000/svg}title") is not None
    short = int(Badge("a", "b", "red").to_svg().split('width="')[1].split('"')[0])
    long = int(Badge("a much longer label", "b", "red").to_svg().split('width="')[1].split('"')[0])
    assert long > short
    assert text_width("mmm") > text_width("iii")


# --- HTML without a browser ------------------------------------------------------------


def test_html_is_self_contained_and_escaped(report_dir: Path) -> None:
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "MessagePack &lt;serializer&gt;" in page
    assert page.count("<script") == 1
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page
    assert not _ILLEGAL_XML.search(page.replace("\x1b", ""))  # nothing the parser rejects
    assert "\\xff\\xfe" in page  # undecodable bytes shown as escapes
    assert "\x1b" not in page  # ANSI colours dropped
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    assert f"script-src '{csp_hash(script)}'" in page
    assert "default-src 'none'" in page


def test_html_single_package_has_no_dashboard() -> None:
    page = render_html(_single(make_results(), "tinypkg"))
    assert 'id="dashboard"' not in page
    assert 'id="dashboard"' in render_html(make_results())


def test_html_renders_without_tests_or_runtimes() -> None:
    empty = Results([PackageRun("empty", "1", "empty-1-py3-none-any.whl", "0" * 64)])
    assert "empty 1" in render_html(empty)
    assert "Pyodide compatibility report" in render_html(Results([]))


def test_headline_drops_engine_frames_local_urls_and_tokens() -> None:
    text = (f"    at {TOKEN_URL}:wasm-function[1934]:0xeb463\n"
            "    at harness_core.mjs:12:5\n"
            "@http://127.0.0.1:41127/9RRf6Ra8MtD1OAFDyF_5fERjIBMqQz6_/pyodide/pyodide.asm.js:9:1\n"
            f"Uncaught RangeError: too deep in {TOKEN_URL}:wasm-function[2438]\n"
            "more")
    assert headline(text) == "Uncaught RangeError: too deep in pyodide/pyodide.asm.wasm:wasm-function[2438]"
    assert headline("/tmp/pyodide_harness/pyodide_harness_inner.py:203: PyodideTimeout\n"
                    "Error: no such file file:///root/.cache/pyodide-harness/pyodide/314.0.7/x.whl"
                    ) == "Error: no such file x.whl"
    assert headline("  \n") == "(no text)"
    assert len(headline("x" * 10_000)) < 400


def test_junit_failures_carry_their_cause(tmp_path: Path) -> None:
    write_reports(cause_results(), tmp_path)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    causes = {}
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            found = case.find(f"properties/property[@name='{CAUSE_PROPERTY}']")
            causes[(suite.get("name"), case.get("name"))] = (
                None if found is None else found.get("value"))
    assert causes[("firefox", "test_tzset")] == "timezone"
    assert causes[("chromium", "test_selfref")] == "recursion"
    assert causes[("node", "test_value")] == "unknown"  # no rule explains an assert 1 == 2
    assert causes[("node", "test_1")] is None  # passed: no cause
    assert causes[("chromium", "chromium runtime error")] is None


def test_reports_decide_causes_a_results_json_did_not_store(tmp_path: Path) -> None:
    """A results.json from before causes existed: re-rendering stores them and groups by them."""
    old = cause_results().to_json()
    for run in old["packages"][0]["runtimes"]:
        assert all("cause" not in test for test in run["tests"])
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.json").write_text(json.dumps(old), encoding="utf-8")
    assert main(["report", str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    new = json.loads((tmp_path / "new" / "results.json").read_text(encoding="utf-8"))
    found = {(run["runtime"], test["nodeid"]): test.get("cause")
             for run in new["packages"][0]["runtimes"] for test in run["tests"]}
    assert found[("node", "tests/test_net.py::test_listen")] == "sockets"
    assert found[("node", "tests/test_odd.py::test_value")] is None  # unknown is not stored
    page = (tmp_path / "new" / "index.html").read_text(encoding="utf-8")
    assert 'data-cause="sockets"' in page and 'data-cause="unknown"' in page


# --- HTML in real browsers -------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
FIREFOX = "/usr/bin/firefox-esr"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MSGPACK_TESTS = 8
TINY_TESTS = 3


@pytest.fixture(scope="module", params=["chromium", "firefox"])
def browser(request: pytest.FixtureRequest) -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    name: str = request.param
    executable = CHROMIUM if name == "chromium" else FIREFOX
    if not Path(executable).exists() and shutil.which(executable) is None:
        pytest.skip(f"{executable} is not installed")
    with sync_api.sync_playwright() as playwright:
        if name == "chromium":
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        else:
            launched = playwright.firefox.launch(channel="moz-firefox", executable_path=FIREFOX)
        yield launched
        launched.close()


def _open(browser: object, path: Path) -> tuple[Any, list[str]]:
    """A page showing *path*, and the list its console errors, page errors, dialogs and
    requests off the file system go into."""
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Request

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def on_dialog(dialog: Dialog) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def on_request(request: Request) -> None:
        if not request.url.startswith("file://"):
            problems.append(f"request: {request.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems


_SHOWN_ROWS = "(rows) => rows.filter((row) => !row.hidden).map((row) => row.cells[0].textContent)"


@pytest.mark.browser
def test_html_matrix_in_browser(browser: object, report_dir: Path, tmp_path: Path) -> None:
    page, problems = _open(browser, report_dir / "index.html")
    msgpack = page.locator("section.package").nth(0)
    matrix = msgpack.locator("[data-matrix]")
    rows = matrix.locator("table.matrix tbody tr")
    assert rows.count() == MSGPACK_TESTS
    assert page.locator("section.package").nth(1).locator("table.matrix tbody tr").count() == TINY_TESTS
    assert page.locator("#dashboard td").count() == 2 * 3
    # tests that differ between runtimes are shown; the rest is collapsed below them
    differing = matrix.locator("table.matrix[data-group='differs'] tbody tr")
    assert differing.count() == 5 and differing.first.is_visible()
    same = matrix.locator("details.same")
    assert same.get_attribute("open") is None
    assert not matrix.locator("table.matrix[data-group='same'] tbody tr").first.is_visible()
    all_shown = f"{MSGPACK_TESTS} of {MSGPACK_TESTS} tests shown"
    assert matrix.locator(".shown").inner_text() == all_shown

    # the outcome filter: unticking "passed" hides rows that passed everywhere
    matrix.locator("input[data-filter-outcome='passed']").uncheck()
    visible = rows.evaluate_all(_SHOWN_ROWS)
    assert "test/test_basic.py::test_pack" not in visible
    assert "test/test_basic.py::test_unpack[1]" in visible  # failed in chromium
    assert len(visible) == 7
    matrix.locator("input[data-filter-outcome='passed']").check()

    # the runtime filter: with only node, rows are judged by node's outcome
    matrix.locator("input[data-filter-runtime='chromium']").uncheck()
    matrix.locator("input[data-filter-runtime='firefox']").uncheck()
    assert not matrix.locator("th[data-runtime='chromium']").first.is_visible()
    matrix.locator("input[data-filter-outcome='passed']").uncheck()
    assert matrix.locator(".shown").inner_text() == f"4 of {MSGPACK_TESTS} tests shown"
    matrix.locator("input[data-filter-outcome='passed']").check()
    matrix.locator("input[data-filter-runtime='chromium']").check()
    matrix.locator("input[data-filter-runtime='firefox']").check()

    # search by name; a match among the collapsed rows opens them
    matrix.locator("input[type=search]").fill("XFAIL")
    assert rows.evaluate_all(_SHOWN_ROWS) == ["test/test_xfail.py::test_xpass",
                                               "test/test_xfail.py::test_xfail"]
    assert same.get_attribute("open") is not None
    matrix.locator("input[type=search]").fill("<script>")
    assert matrix.locator(".shown").inner_text() == f"1 of {MSGPACK_TESTS} tests shown"
    matrix.locator("input[type=search]").fill("")

    # the hostile test name is text, not markup, and nothing ran
    assert SCRIPT_NODEID in rows.evaluate_all(_SHOWN_ROWS)
    assert page.evaluate("() => document.querySelectorAll('script').length") == 1

    # a failure cell links to its traceback and captured output, opened
    link = matrix.locator("table.matrix tbody tr", has_text="test/test_basic.py::test_unpack[1]"
                          ).locator("td").nth(2).locator("a")
    link.click()
    target = link.get_attribute("href")
    assert target is not None
    failure = page.locator(f"div.failure{target}")
    assert failure.is_visible()
    assert "AssertionError: assert 1 == 2" in failure.locator("pre").first.inner_text()
    assert "Captured stdout call" in failure.inner_text()
    assert "nul\\x00 bell\\x07" in failure.inner_text()  # control characters shown escaped

    assert problems == []
    page.screenshot(path=str(tmp_path / "matrix.png"), full_page=True)
    page.close()


TOKEN_URL = "http://127.0.0.1:41127/9RRf6Ra8MtD1OAFDyF_5fERjIBMqQz6_/pyodide/pyodide.asm.wasm"
STACK_OVERFLOW = (
    "chromium failed fatally (Pyodide fatal error: RangeError: Maximum call stack size exceeded)"
)


def cause_results() -> Results:
    """One package in three runtimes with failures of several causes (real texts), a
    crash whose text starts with a frame through the local server, and restarts."""
    socket = ("E           OSError: [Errno 138] Not supported\n"
              "/lib/python314.zip/socket.py:622: OSError")
    threads = ("E       RuntimeError: can't start new thread\n"
               "/lib/python314.zip/threading.py:1005: RuntimeError")
    tzset = ("E       AttributeError: module 'time' has no attribute 'tzset'\n"
             "tests/_common.py:253: AttributeError")
    crash = (f"{STACK_OVERFLOW} while running tests/test_deep.py::test_selfref\n"
             f"RangeError: Maximum call stack size exceeded\n"
             f"    at {TOKEN_URL}:wasm-function[1934]:0xeb463")

    def tests(runtime: str) -> list[TestResult]:
        made = [TestResult(f"tests/test_ok.py::test_{i}", "passed", "call", 0.001 * i)
                for i in range(1, 6)]
        for name in ("test_listen", "test_socketpair"):
            made.append(TestResult(f"tests/test_net.py::{name}", "failed", "call", 0.002,
                                   socket, [], "OSError: [Errno 138] Not supported"))
        if runtime != "firefox":
            made.append(TestResult("tests/test_threads.py::test_pool", "failed", "call", 0.01,
                                   threads, [], "RuntimeError: can't start new thread"))
        else:
            made.append(TestResult("tests/test_threads.py::test_pool", "passed", "call", 0.01))
            made.append(TestResult("tests/test_tz.py::test_tzset", "failed", "call", 0.01,
                                   tzset, [], "AttributeError: module 'time' has no attribute "
                                   "'tzset'"))
        if runtime == "node":
            made.append(TestResult("tests/test_odd.py::test_value", "failed", "call", 0.01,
                                   "E       assert 1 == 2", [], "assert 1 == 2"))
        if runtime == "chromium":
            made.append(TestResult("tests/test_deep.py::test_selfref", "failed", "call", 5.0,
                                   crash, [], crash))
        return made

    runs = [RuntimeRun(runtime, {"pyodide_version": "314.0.7"}, tests(runtime), [], 10.0,
                       {"launch": 0.5, "boot": 3.0, "install": 0.5, "collection": 1.0,
                        "run": 5.0}) for runtime in ("node", "chromium", "firefox")]
    runs[1].restarts = [Restart("chromium", STACK_OVERFLOW, "tests/test_deep.py::test_selfref", 1)]
    runs[1].errors = [f"    at {TOKEN_URL.replace('.wasm', '.js')}:9:4077\n"
                      "Uncaught RangeError: Maximum call stack size exceeded"]
    runs[2].timings["collection"] = -3.5  # as a restart made it once: not shown as a bar
    return Results([PackageRun("demo", "1.0", "demo-1.0-py3-none-any.whl", "0" * 64, {}, runs)],
                   "2025-01-31T12:00:00+00:00", "0.1.0")


@pytest.mark.browser
def test_html_failures_by_cause_in_browser(browser: object, tmp_path: Path) -> None:
    write_reports(cause_results(), tmp_path)
    page, problems = _open(browser, tmp_path / "index.html")
    failures = page.locator("[data-failures]")
    # the page opens on the failures, grouped by cause, the biggest group first, unknown last
    assert failures.is_visible() and failures.locator("details.cause").first.is_visible()
    groups = failures.locator("details.cause")
    assert [groups.nth(i).get_attribute("data-cause") for i in range(groups.count())] == [
        "sockets", "recursion", "threads", "timezone", "unknown"]
    rows = failures.locator("tbody tr")
    assert rows.count() == 6  # one row per test and cause, not one per runtime
    socket_row = failures.locator("details[data-cause='sockets'] tbody tr").first
    assert socket_row.get_attribute("data-runtimes") == "node chromium firefox"
    assert "every runtime" in socket_row.inner_text()
    assert failures.locator("details[data-cause='threads'] tbody tr"
                            ).get_attribute("data-runtimes") == "node chromium"
    assert failures.locator(".shown").inner_text() == "6 of 6 rows shown"

    # headlines hold no token, URL or engine frame; the restart shows the test it was in
    crash_row = failures.locator("details[data-cause='recursion'] tbody tr")
    assert crash_row.locator(".headline").inner_text().startswith(STACK_OVERFLOW)
    restart = page.locator("table.restarts tbody tr")
    assert restart.count() == 1
    assert "tests/test_deep.py::test_selfref" in restart.inner_text()
    assert "recursion" in restart.inner_text()
    error = page.locator(".errors summary")
    assert error.inner_text() == "chromium: Uncaught RangeError: Maximum call stack size exceeded"
    for line in page.locator(".headline, .errors summary").all_inner_texts():
        assert "127.0.0.1" not in line and "9RRf6Ra8" not in line, line

    # filter by the runtime a test fails in: without node and chromium, firefox's failures
    failures.locator("input[data-filter-runtime='node']").uncheck()
    failures.locator("input[data-filter-runtime='chromium']").uncheck()
    assert rows.evaluate_all(_SHOWN_ROWS) == ["tests/test_net.py::test_listen",
                                               "tests/test_net.py::test_socketpair",
                                               "tests/test_tz.py::test_tzset"]
    assert not failures.locator("details[data-cause='threads']").is_visible()
    assert failures.locator(".shown").inner_text() == "3 of 6 rows shown"
    assert failures.locator("details[data-cause='timezone'] .count").inner_text() == "1"
    failures.locator("input[data-filter-runtime='node']").check()
    failures.locator("input[data-filter-runtime='chromium']").check()
    failures.locator("input[type=search]").fill("THREADS")
    assert rows.evaluate_all(_SHOWN_ROWS) == ["tests/test_threads.py::test_pool"]
    failures.locator("input[type=search]").fill("")

    # a runtime's chip opens that runtime's traceback
    chip = failures.locator("details[data-cause='sockets'] a[data-runtime='firefox']").first
    chip.click()
    traceback = page.locator(f"div.failure{chip.get_attribute('href')}")
    assert traceback.is_visible() and "firefox: failed in call" in traceback.inner_text()

    # time per step and the chart of durations: the negative step is not drawn
    timing = page.locator("tr[data-runtime-timing='firefox']")
    assert "n/a" in timing.inner_text() and "collection: not shown" in timing.inner_text()
    assert timing.locator(".bar span").count() == 4
    assert page.locator("tr[data-runtime-timing='node'] .bar span").count() == 5
    assert page.locator("tr[data-runtime-timing='node'] .histogram .hbar").count() == 5

    assert problems == []
    page.screenshot(path=str(tmp_path / "causes.png"), full_page=True)
    page.close()


# --- long texts: cut in JUnit and HTML, whole in a side file ------------------------------

MB = 1024 * 1024
LINE = "printed by test_prints: a line of ordinary output\n"
BIG_NODEID = "tests/test_big.py::test_prints[many]"
REPORT_BOUND = 512 * 1024
"""Bytes junit.xml or index.html may take for one test whose texts were cut."""


def _output(size: int) -> str:
    return (LINE * (size // len(LINE) + 1))[:size]


def _one_test(stdout: str, longrepr: str = "E   assert False", message: str = "assert False",
              errors: tuple[str, ...] = ()) -> Results:
    test = TestResult(BIG_NODEID, "failed", "call", 1.0, longrepr,
                      [("Captured stdout call", stdout)], message)
    run = RuntimeRun("node", {"pyodide_version": "314.0.7"}, [test], list(errors), 1.0)
    package = PackageRun("big", "1.0", "big-1.0-py3-none-any.whl", "0" * 64, {}, [run])
    return Results([package], "2025-01-31T12:00:00+00:00", "0.1.0")


def _side_files(out: Path) -> list[Path]:
    return sorted(path for path in (out / OUTPUT_DIR).rglob("*") if path.is_file())


def _link(page: str) -> str:
    """The one link to a whole text in *page*."""
    (href,) = re.findall(r'<p class="cut">[^<]*<a href="([^"]+)">', page)
    return str(href)


def test_50_mb_of_output_is_cut_in_junit_and_html_and_kept_whole_beside_them(
    tmp_path: Path,
) -> None:
    size = 50 * MB
    stdout = _output(size)
    out = tmp_path / "report"
    written = write_reports(_one_test(stdout), out)

    (side,) = _side_files(out)
    assert side in written
    assert side.stat().st_size == size
    assert side.read_bytes() == stdout.encode("ascii")
    relative = side.relative_to(out).as_posix()
    for name in ("junit.xml", "junit-node.xml", "index.html"):
        assert (out / name).stat().st_size < REPORT_BOUND, name
    # results.json stays the source of truth: the whole text, for `pyodide-harness report`
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["packages"][0]["runtimes"][0]["tests"][0]["sections"][0][1] == stdout
    del data

    xml = JUnitXml.fromfile(str(out / "junit.xml"))
    (case,) = list(next(iter(xml)))
    system_out = case.system_out or ""
    assert stdout[:1000] in system_out and stdout[-1000:] in system_out
    assert f"of {size:,} characters" in system_out
    assert f"the whole text is in {relative} ...]" in system_out
    root = ET.parse(out / "junit-node.xml").getroot()
    properties = root.findall(f".//testcase/properties/property[@name='{FULL_TEXT_PROPERTY}']")
    assert [prop.get("value") for prop in properties] == [relative]

    page = (out / "index.html").read_text(encoding="utf-8")
    href = _link(page)
    assert urljoin((out / "index.html").as_uri(), href) == side.as_uri()
    assert f"{size:,} characters" in page
    assert stdout[:1000] in page and stdout[-1000:] in page


def test_report_sizes_do_not_grow_with_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What JUnit and HTML hold of a text is bounded, so writing them is linear in it.

    Issue 12's quadratic cost came from junitparser's ``pretty=True`` (a minidom
    re-parse); it is refused here, so going back to it fails this test.
    """

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("reports must not be re-parsed with minidom (quadratic)")

    monkeypatch.setattr(xml.dom.minidom, "parseString", refuse)
    sizes = {}
    for megabytes in (1, 4):
        out = tmp_path / f"{megabytes}mb"
        write_reports(_one_test(LINE * (megabytes * MB // len(LINE))), out)
        sizes[megabytes] = {name: (out / name).stat().st_size
                            for name in ("junit.xml", "junit-node.xml", "index.html")}
    for name, small in sizes[1].items():
        # only the numbers in the cut marker (and the HTML note) differ
        assert 0 <= sizes[4][name] - small <= 16, (name, sizes)
        assert small < 2 * MAX_TEXT_CHARS + 16 * 1024


def test_cut_texts_stay_valid_and_side_files_keep_the_bytes(tmp_path: Path) -> None:
    raw = b"ANSI \x1b[31mred\x1b[0m nul \x00 bell \x07 bad \xff\xfe snowman \xe2\x98\x83\n" * 200
    text = raw.decode("utf-8", "surrogateescape")
    results = _one_test(text, longrepr=text)
    side_files = SideFiles(tmp_path, limit=1000)
    write_junit(results, tmp_path, side_files)
    write_html(results, tmp_path, side_files)
    assert len(side_files.written) == 2  # traceback and stdout, once for all three files
    assert [path.read_bytes() for path in side_files.written] == [raw, raw]
    for path in sorted(tmp_path.glob("junit*.xml")):
        assert not _ILLEGAL_XML.search(path.read_text(encoding="utf-8")), path
        (case,) = list(next(iter(JUnitXml.fromfile(str(path)))))
        (failure,) = case.result
        assert "\\xff\\xfe snowman \u2603" in (failure.text or "")
        assert "pyodide-harness cut" in (failure.text or "")
        assert "pyodide-harness cut" in (case.system_out or "")
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "\x1b" not in page and "\\xff\\xfe snowman" in page
    assert page.count('<p class="cut">') == 2


def test_long_runtime_errors_and_messages_are_cut(tmp_path: Path) -> None:
    crash = "Aborted(RuntimeError: out of memory)\n" + "    at wasm-function[123]\n" * 100_000
    message = "AssertionError: " + "x" * 100_000
    out = tmp_path / "report"
    write_reports(_one_test("short", message=message, errors=(crash,)), out)
    (side,) = _side_files(out)
    assert side.read_text(encoding="utf-8") == crash
    cut_message = message[:MAX_MESSAGE_CHARS] + MESSAGE_CUT.format(
        chars=len(message) - MAX_MESSAGE_CHARS)
    root = ET.parse(out / "junit.xml").getroot()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    failure = cases["test_prints[many]"].find("failure")
    assert failure is not None and failure.get("message") == cut_message
    error = cases["node runtime error"].find("error")
    assert error is not None and error.get("message") == "Aborted(RuntimeError: out of memory)"
    assert len(error.text or "") < 2 * MAX_TEXT_CHARS
    assert (out / "junit.xml").stat().st_size < REPORT_BOUND
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "x" * (MAX_MESSAGE_CHARS + 1) not in page
    assert "<strong>node</strong>: Aborted(RuntimeError: out of memory)</summary>" in page
    assert urljoin((out / "index.html").as_uri(), _link(page)) == side.as_uri()
    assert (out / "index.html").stat().st_size < REPORT_BOUND


def test_report_command_writes_the_side_files_again(tmp_path: Path) -> None:
    stdout = _output(MAX_TEXT_CHARS * 4)
    out = tmp_path / "report"
    write_reports(_one_test(stdout), out)
    (side,) = _side_files(out)
    again = tmp_path / "again"
    assert main(["report", str(out), str(again)]) == 0
    assert [path.relative_to(again) for path in _side_files(again)] == [side.relative_to(out)]
    assert (again / side.relative_to(out)).read_text(encoding="utf-8") == stdout
    assert (again / "junit.xml").read_bytes() == (out / "junit.xml").read_bytes()
    assert (again / "index.html").read_bytes() == (out / "index.html").read_bytes()


def test_nothing_is_cut_or_written_for_short_texts(tmp_path: Path) -> None:
    text = _output(MAX_TEXT_CHARS)
    out = tmp_path / "report"
    written = write_reports(_one_test(text, longrepr=text), out)
    assert not (out / OUTPUT_DIR).exists()
    assert all(path.parent == out for path in written)
    assert "pyodide-harness cut" not in (out / "junit.xml").read_text(encoding="utf-8")
    assert 'class="cut"' not in (out / "index.html").read_text(encoding="utf-8")


def test_html_view_indexes_tests_instead_of_scanning_per_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The matrix looks each test up in a dict: the model's per-node-id lookups scan every
    test, and calling them per test would make the page quadratic in the suite."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a per-test scan of the results while rendering")

    for name in ("test",):
        monkeypatch.setattr(RuntimeRun, name, refuse)
    for name in ("outcomes", "differs", "runtime"):
        monkeypatch.setattr(PackageRun, name, refuse)
    page = render_html(make_results())
    assert page.count('<tr><td class="nodeid mono">') == MSGPACK_TESTS + TINY_TESTS  # the matrix


def test_garbage_collection_paused_while_writing_and_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cyclic collector made the HTML writer grow faster than the suite (nogc.py)."""
    states: list[bool] = []

    def render(results: Results, side_files: SideFiles | None = None) -> str:
        states.append(gc.isenabled())
        return "page"

    monkeypatch.setattr(html_module, "render_html", render)
    assert gc.isenabled()
    write_reports(make_results(), tmp_path)
    assert states == [False] and gc.isenabled()
    with pytest.raises(ZeroDivisionError), paused_gc():
        assert not gc.isenabled()
        1 / 0  # noqa: B018
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
