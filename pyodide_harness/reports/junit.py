"""JUnit XML from the results model, for CI systems that read test reports.

Layout: one ``<testsuite>`` per runtime of each package, named ``<runtime>`` (one
package) or ``<package>-<runtime>`` (several), with the runtime's environment as
``<properties>``. Test cases are named as pytest's junitxml names them, with the
runtime (and package) in front of the classname so CI tools that key on
classname + name keep the runtimes apart::

    nodeid    test/test_x.py::TestA::test_y[1]
    classname node.test.test_x.TestA          (msgpack.node.test.test_x.TestA with several)
    name      test_y[1]

Outcomes: failed -> ``<failure>``, error and not-run -> ``<error>``, skipped and
xfailed -> ``<skipped>``; passed and xpassed have no child. A failed, errored or not-run
test carries its cause as ``<property name="cause" value="sockets"/>``. Captured sections go to
``<system-out>`` (``<system-err>`` for titles naming stderr). Each runtime-level error
becomes a test case ``<runtime> runtime error`` with an ``<error>``, so CI shows crashes.

Texts longer than ``longtext.MAX_TEXT_CHARS`` keep their head and tail around a marker
naming the side file with the whole text, which the test case also lists as a
``<property name="full_text" value="output/...">`` (pytest's junitxml puts test case
properties there too; Jenkins reads them). All text is then passed through ``xml_safe``:
XML 1.0 cannot hold control characters or lone surrogates at all, not even as
character references.

The files are indented with ``ElementTree.indent`` after serialising, not with
junitparser's ``pretty=True``: that re-parses the document with ``xml.dom.minidom``,
whose expat builder grows a text node by string concatenation, one buffer (8 KiB) at a
time, so its cost is quadratic in the longest text (issue 12: 9.6 s for 8 MB of output,
minutes for 50 MB).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from junitparser import (
    Error,
    Failure,
    JUnitXml,
    Properties,
    Property,
    Skipped,
    TestCase,
    TestSuite,
)

from pyodide_harness.causes import UNKNOWN, first_line
from pyodide_harness.reports.longtext import Shown, SideFiles, cut_message
from pyodide_harness.reports.nogc import paused_gc
from pyodide_harness.results import (
    ERROR,
    FAILED,
    NOT_RUN,
    SKIPPED,
    XFAILED,
    PackageRun,
    Results,
    RuntimeRun,
    TestResult,
)

SUITE_PROPERTIES = (
    "pyodide_version",
    "runtime",
    "runtime_version",
    "jspi",
    "wheel",
    "wheel_sha256",
    "package_version",
)
"""Properties every suite carries (empty when unknown), before the rest of the environment."""

FULL_TEXT_PROPERTY = "full_text"
"""Test case property naming a side file with a text the report shows cut."""

CAUSE_PROPERTY = "cause"
"""Test case property of a failed, errored or not-run test: its cause (``causes.py``),
``unknown`` when no rule explains it."""

_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that surrogateescape could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def xml_safe(text: str) -> str:
    """*text* with characters XML 1.0 cannot carry replaced by ``\\x1b``-style escapes.

    Bytes kept by ``surrogateescape`` (U+DC80..U+DCFF) show as the byte they stand for.
    """
    return _ILLEGAL_XML.sub(_escape_char, text)


def safe_filename(name: str) -> str:
    """*name* made safe to use in a file name (runtime names are free-form)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "runtime"


def junit_names(nodeid: str, prefix: str) -> tuple[str, str]:
    """``(classname, name)`` for *nodeid*, as pytest's junitxml derives them, under *prefix*."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    classname = ".".join([prefix, *names[:-1]]) if prefix else ".".join(names[:-1])
    return classname, names[-1]


def suite_name(package: PackageRun, run: RuntimeRun, several_packages: bool) -> str:
    """``<runtime>``, or ``<package>-<runtime>`` when the results hold several packages."""
    return f"{package.name}-{run.runtime}" if several_packages else run.runtime


def _captured(sections: list[Shown], stderr: bool) -> str:
    parts = [
        f"{'-' * 20} {shown.title} {'-' * 20}\n{shown.text}"
        for shown in sections
        if ("stderr" in shown.title.lower()) == stderr
    ]
    return "\n".join(parts)


def _add_properties(case: TestCase, cut: list[Shown], cause: str | None = None) -> None:
    """The failure's *cause* and the side files of *cut* texts as *case*'s properties
    (first, where pytest puts them)."""
    if not cut and cause is None:
        return
    properties = Properties()  # type: ignore[no-untyped-call]  # unannotated upstream
    if cause is not None:
        properties.add_property(Property(CAUSE_PROPERTY, xml_safe(cause)))
    for shown in cut:
        properties.add_property(Property(FULL_TEXT_PROPERTY, xml_safe(shown.path)))
    case.append(properties)  # type: ignore[no-untyped-call]


def _testcase(test: TestResult, prefix: str, package: str, runtime: str,
              side_files: SideFiles) -> TestCase:
    classname, name = junit_names(test.nodeid, prefix)
    case = TestCase(xml_safe(name), xml_safe(classname), round(test.duration, 6))
    shown = side_files.test(package, runtime, test)
    failing = test.outcome in (FAILED, ERROR, NOT_RUN)
    _add_properties(case, shown.cut, (test.cause or UNKNOWN) if failing else None)
    message = xml_safe(shown.message)
    text = xml_safe(shown.longrepr.text)
    result: Failure | Error | Skipped | None = None
    if test.outcome == FAILED:
        result = Failure(message or "failed", "pytest.fail")
    elif test.outcome == ERROR:
        result = Error(f"error in {test.phase}: {message}" if message else f"error in {test.phase}")
    elif test.outcome == NOT_RUN:
        result = Error("not run: the runtime stopped before this test", "not-run")
    elif test.outcome == SKIPPED:
        result = Skipped(message or "skipped", "pytest.skip")
    elif test.outcome == XFAILED:
        result = Skipped(f"xfail: {message}" if message else "xfail", "pytest.xfail")
    if result is not None:
        if text:
            result.text = text
        case.result = [result]
    out = _captured(shown.sections, stderr=False)
    err = _captured(shown.sections, stderr=True)
    if out:
        case.system_out = xml_safe(out)
    if err:
        case.system_err = xml_safe(err)
    return case


def build_suite(
    results: Results, package: PackageRun, run: RuntimeRun, several_packages: bool,
    side_files: SideFiles | None = None,
) -> TestSuite:
    """The ``<testsuite>`` for *package* in *run*; long texts cut by *side_files*."""
    if side_files is None:
        side_files = SideFiles(None)
    suite = TestSuite(xml_safe(suite_name(package, run, several_packages)))
    suite.timestamp = xml_safe(results.created)
    known = {
        "runtime": run.runtime,
        "wheel": package.wheel,
        "wheel_sha256": package.wheel_sha256,
        "package_version": package.version,
    }
    properties = {key: run.environment.get(key, known.get(key, "")) for key in SUITE_PROPERTIES}
    properties.update(known)
    properties["package"] = package.name
    for key, value in run.environment.items():
        properties.setdefault(key, value)
    # properties go first: the JUnit schema wants them before the test cases
    for key, value in properties.items():
        suite.add_property(xml_safe(key), xml_safe(value))
    prefix = f"{package.name}.{run.runtime}" if several_packages else run.runtime
    cases = [_testcase(test, prefix, package.name, run.runtime, side_files) for test in run.tests]
    for number, text in enumerate(run.errors, start=1):
        suffix = f" {number}" if len(run.errors) > 1 else ""
        case = TestCase(xml_safe(f"{run.runtime} runtime error{suffix}"), xml_safe(prefix), 0.0)
        shown = side_files.runtime_error(package.name, run.runtime, number, text)
        _add_properties(case, [shown] if shown.path else [])
        error = Error(xml_safe(cut_message(first_line(shown.text))) or "runtime error",
                      "runtime-error")
        error.text = xml_safe(shown.text)
        case.result = [error]
        cases.append(case)
    suite.add_testcases(cases)
    return suite


def build_junit(
    results: Results, runtime: str | None = None, side_files: SideFiles | None = None
) -> JUnitXml:
    """The whole report, or only the suites of *runtime*; long texts cut by *side_files*.

    Without *side_files* long texts are cut but their whole texts are not written.
    """
    if side_files is None:
        side_files = SideFiles(None)
    several = len(results.packages) > 1
    xml = JUnitXml("pyodide-harness")
    durations = []
    for package in results.packages:
        for run in package.runtimes:
            if runtime is None or run.runtime == runtime:
                xml.add_testsuite(build_suite(results, package, run, several, side_files))
                durations.append(round(run.duration, 3))
    xml.update_statistics()  # type: ignore[no-untyped-call]  # junitparser leaves it unannotated
    # update_statistics sums the test times; suites report their runtimes' wall time instead
    for suite, duration in zip(xml, durations, strict=True):
        suite.time = duration
    xml.time = round(sum(durations), 3)
    return xml


def write_xml(xml: JUnitXml, path: Path) -> Path:
    """Write *xml* to *path* as indented UTF-8, in time linear in its size.

    Serialised by junitparser (ElementTree, or lxml where installed), read back and
    indented by ElementTree, never through ``pretty=True`` (see the module docstring).
    """
    root = ET.fromstring(xml.tostring())  # type: ignore[no-untyped-call]  # unannotated upstream
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def write_junit(
    results: Results, out_dir: Path, side_files: SideFiles | None = None
) -> list[Path]:
    """``junit.xml`` with every suite, and ``junit-<runtime>.xml`` per runtime.

    Long texts are cut by *side_files* (by default one writing into *out_dir*), which
    writes their whole texts under ``output/``; those files are not in the list returned.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if side_files is None:
        side_files = SideFiles(out_dir)
    with paused_gc():
        written = [write_xml(build_junit(results, side_files=side_files), out_dir / "junit.xml")]
        for runtime in results.runtime_names():
            path = out_dir / f"junit-{safe_filename(runtime)}.xml"
            written.append(write_xml(build_junit(results, runtime, side_files), path))
    return written
