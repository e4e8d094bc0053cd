"""``index.html``: one self-contained compatibility report that opens from disk.

The page is rendered from a view model built here, through one Jinja template with
autoescaping on, so every string from a test suite (node ids, tracebacks, captured
output, metadata) is escaped. A Content-Security-Policy allows only the report's own
script (by hash), so even a slip in escaping could not run injected script, and the
page cannot reach the network. ANSI colour codes are dropped and other characters HTML
cannot carry are shown as ``\\x1b``-style escapes.

Texts longer than ``longtext.MAX_TEXT_CHARS`` show their head and tail and link to the
side file with the whole text (``output/...``, relative to the page); the page itself
stays one file. Building the view and rendering are linear in the number of tests and
in the length of the texts kept.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from pyodide_harness import __version__
from pyodide_harness.reports.badges import overall_badge, pyodide_label
from pyodide_harness.reports.junit import xml_safe
from pyodide_harness.reports.longtext import Shown, SideFiles, cut_message
from pyodide_harness.reports.nogc import paused_gc
from pyodide_harness.results import (
    BAD_OUTCOMES,
    ERROR,
    FAILED,
    NOT_RUN,
    OUTCOMES,
    PASSED,
    SKIPPED,
    XFAILED,
    XPASSED,
    PackageRun,
    Results,
    RuntimeRun,
    TestResult,
)

ABSENT = "absent"
"""Pseudo-outcome of a matrix cell whose runtime did not report the test at all."""

SYMBOLS = {
    PASSED: "✔",
    FAILED: "✘",
    ERROR: "⚠",
    NOT_RUN: "∅",
    XPASSED: "★",
    XFAILED: "✕",
    SKIPPED: "»",
    ABSENT: "·",
}
"""One symbol per outcome, so the matrix does not rely on colour alone."""

SLOWEST = 15
"""How many of the slowest tests each package lists."""

_ANSI_SGR = re.compile("\x1b\\[[0-9;]*m")


def html_text(value: Any) -> Any:
    """Jinja ``finalize``: drop ANSI colours and escape characters HTML cannot carry."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return xml_safe(_ANSI_SGR.sub("", value))
    return value


def csp_hash(script: str) -> str:
    """The CSP ``'sha256-...'`` source that allows exactly *script*."""
    digest = hashlib.sha256(str(script).encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


@dataclass
class Cell:
    """One runtime's outcome for one test in the matrix."""

    runtime: str
    outcome: str
    symbol: str
    title: str
    detail_id: str = ""


@dataclass
class Row:
    """One test across the runtimes."""

    nodeid: str
    cells: list[Cell]
    differs: bool


@dataclass
class Detail:
    """A test with a message worth showing: a failure (or error, or not-run) with its
    traceback and captured output in *texts*, or a skip or expected failure (no texts)."""

    id: str
    runtime: str
    test: TestResult
    message: str
    texts: list[Shown] = field(default_factory=list)


@dataclass
class ErrorView:
    """A runtime's own error, its first line for the summary."""

    runtime: str
    first_line: str
    shown: Shown


@dataclass
class RuntimeSummary:
    """Counts and status of one runtime of one package."""

    run: RuntimeRun
    counts: dict[str, int]
    total: int
    passing: bool


@dataclass
class PackageView:
    """Everything the template shows for one package."""

    index: int
    anchor: str
    package: PackageRun
    summaries: list[RuntimeSummary]
    differing: list[Row]
    same: list[Row]
    errors: list[ErrorView]
    details: list[Detail]
    reasons: list[Detail]
    slowest: list[tuple[TestResult, str]]
    environment_keys: list[str]
    outcome_totals: dict[str, int] = field(default_factory=dict)


def _title(test: TestResult | None, runtime: str) -> str:
    if test is None:
        return f"{runtime}: not reported"
    title = f"{runtime}: {test.outcome} in {test.phase}, {test.duration:.3f} s"
    return f"{title}\n{cut_message(test.message)}" if test.message else title


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "(no text)")


def package_view(index: int, package: PackageRun, side_files: SideFiles | None = None
                 ) -> PackageView:
    """The view of one package: summaries, the matrix rows, failures and durations.

    Long texts are cut by *side_files* (by default cut without writing the whole texts).
    """
    if side_files is None:
        side_files = SideFiles(None)
    details: list[Detail] = []
    reasons: list[Detail] = []
    errors: list[ErrorView] = []
    detail_ids: dict[tuple[str, str], str] = {}
    for run_index, run in enumerate(package.runtimes):
        for number, text in enumerate(run.errors, start=1):
            shown = side_files.runtime_error(package.name, run.runtime, number, text)
            errors.append(ErrorView(run.runtime, _first_line(shown.text), shown))
        for test_index, test in enumerate(run.tests):
            detail_id = f"p{index}-r{run_index}-t{test_index}"
            if test.outcome in BAD_OUTCOMES:
                shown_test = side_files.test(package.name, run.runtime, test)
                details.append(Detail(
                    detail_id, run.runtime, test, shown_test.message,
                    [shown_test.longrepr, *shown_test.sections] if shown_test.longrepr.text
                    else shown_test.sections,
                ))
                detail_ids[(run.runtime, test.nodeid)] = detail_id
            elif test.outcome in (SKIPPED, XFAILED, XPASSED):
                reasons.append(Detail(detail_id, run.runtime, test, cut_message(test.message)))
                detail_ids[(run.runtime, test.nodeid)] = detail_id

    # index once: suites have thousands of tests, and each row looks in every runtime
    by_nodeid = [{test.nodeid: test for test in run.tests} for run in package.runtimes]
    differing: list[Row] = []
    same: list[Row] = []
    for nodeid in package.nodeids():
        cells = []
        for run, tests in zip(package.runtimes, by_nodeid, strict=True):
            found = tests.get(nodeid)
            outcome = found.outcome if found else ABSENT
            cells.append(
                Cell(
                    run.runtime, outcome, SYMBOLS.get(outcome, "?"), _title(found, run.runtime),
                    detail_ids.get((run.runtime, nodeid), ""),
                )
            )
        differs = len({cell.outcome for cell in cells}) > 1  # as PackageRun.differs
        (differing if differs else same).append(Row(nodeid, cells, differs))

    summaries = []
    totals = dict.fromkeys(OUTCOMES, 0)
    for run in package.runtimes:
        counts = run.counts()
        for outcome, count in counts.items():
            totals[outcome] = totals.get(outcome, 0) + count
        summaries.append(RuntimeSummary(run, counts, len(run.tests), run.passing))

    timed = heapq.nlargest(  # as sorted(..., reverse=True)[:SLOWEST], without sorting all
        SLOWEST, ((test, run.runtime) for run in package.runtimes for test in run.tests),
        key=lambda pair: pair[0].duration,
    )
    keys: dict[str, None] = {}
    for run in package.runtimes:
        for key in run.environment:
            keys.setdefault(key, None)
    return PackageView(
        index=index,
        anchor=f"package-{index}",
        package=package,
        summaries=summaries,
        differing=differing,
        same=same,
        errors=errors,
        details=details,
        reasons=reasons,
        slowest=timed,
        environment_keys=list(keys),
        outcome_totals=totals,
    )


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pyodide_harness.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        finalize=html_text,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["csp_hash"] = csp_hash
    return env


def render_html(results: Results, side_files: SideFiles | None = None) -> str:
    """The report page as text; long texts cut by *side_files* (see ``package_view``)."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        results=results,
        packages=[package_view(index, package, side_files) for index, package in
                  enumerate(results.packages)],
        runtimes=results.runtime_names(),
        outcomes=OUTCOMES,
        symbols=SYMBOLS,
        absent=ABSENT,
        badge=overall_badge(results),
        pyodide=pyodide_label(results),
        harness_version=__version__,
    )


def write_html(results: Results, out_dir: Path, side_files: SideFiles | None = None) -> Path:
    """Write ``index.html`` into *out_dir*.

    Long texts are cut by *side_files* (by default one writing into *out_dir*), which
    writes their whole texts under ``output/`` for the page to link to.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if side_files is None:
        side_files = SideFiles(out_dir)
    path = out_dir / "index.html"
    with paused_gc():
        page = render_html(results, side_files)
    path.write_text(page, encoding="utf-8")
    return path
