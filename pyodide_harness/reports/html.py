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
from pyodide_harness.causes import CAUSES, UNKNOWN, cause_name, restart_cause
from pyodide_harness.reports.badges import overall_badge, pyodide_label
from pyodide_harness.reports.headline import headline
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
    TIMINGS,
    XFAILED,
    XPASSED,
    PackageRun,
    Restart,
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
class FailureRow:
    """One failing test of a cause group, with the runtimes it fails in for that cause."""

    nodeid: str
    headline: str
    details: list[Detail]  # one per runtime, in the package's runtime order
    every_runtime: bool

    @property
    def runtimes(self) -> list[str]:
        return [detail.runtime for detail in self.details]


@dataclass
class CauseGroup:
    """The failing tests of one cause (``unknown``: no rule explains them)."""

    cause: str
    name: str  # the vocabulary name (``missing-module`` for ``missing-module: curses``)
    explanation: str
    rows: list[FailureRow]
    anchor: str


@dataclass
class RestartView:
    """A runtime instance that died: in which test, why (a headline), what followed."""

    runtime: str
    restart: Restart
    headline: str
    cause: str


@dataclass
class TimingView:
    """Where a runtime's time went: its steps, and how its tests' durations spread."""

    runtime: str
    steps: list[tuple[str, float | None, float]]  # step, seconds (None: not usable), bar %
    note: str
    histogram: list[tuple[str, int, float]]  # bucket, tests, bar height %


@dataclass
class ErrorView:
    """A runtime's own error, its headline for the summary."""

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
    causes: list[CauseGroup]
    failing_tests: int
    explained_tests: int
    failure_rows: int  # rows of the cause groups: a test is in one per cause it fails of
    restarts: list[RestartView]
    reasons: list[Detail]
    timings: list[TimingView]
    slowest: list[tuple[TestResult, str]]
    environment_keys: list[str]
    outcome_totals: dict[str, int] = field(default_factory=dict)


DURATION_BUCKETS = ((0.01, "< 10 ms"), (0.1, "10-100 ms"), (1.0, "0.1-1 s"), (10.0, "1-10 s"),
                    (float("inf"), ">= 10 s"))
"""The bars of each runtime's chart of test durations: upper bound (exclusive), label."""

UNKNOWN_EXPLANATION = "no rule explains these: read their tracebacks"
NOT_RUN_HEADLINE = "not run: the runtime stopped before this test"
BAD_TIMING = "{steps}: not shown, recorded as negative"


def _title(test: TestResult | None) -> str:
    if test is None:
        return "not reported"
    if test.outcome == PASSED:
        return f"{test.duration:.3f} s"
    title = f"{test.outcome} in {test.phase}, {test.duration:.3f} s"
    return f"{title}\n{cut_message(test.message)}" if test.message else title


def _failure_headline(test: TestResult) -> str:
    if test.outcome == NOT_RUN and not test.message:
        return NOT_RUN_HEADLINE
    return headline(test.message or test.longrepr)


def _cause_groups(index: int, package: PackageRun, failures: dict[str, dict[str, Detail]]
                  ) -> list[CauseGroup]:
    """Failures by cause, one row per test and cause, biggest group first, unknown last."""
    runtimes = [run.runtime for run in package.runtimes]
    grouped: dict[str, dict[str, list[Detail]]] = {}
    for nodeid, by_runtime in failures.items():
        for runtime in runtimes:
            detail = by_runtime.get(runtime)
            if detail is not None:
                cause = detail.test.cause or UNKNOWN
                grouped.setdefault(cause, {}).setdefault(nodeid, []).append(detail)
    groups = []
    for number, (cause, rows) in enumerate(grouped.items()):
        name = cause_name(cause)
        groups.append(CauseGroup(
            cause, name, CAUSES.get(name, UNKNOWN_EXPLANATION),
            [FailureRow(nodeid, _failure_headline(details[0].test), details,
                        len(details) == len(runtimes) > 1)
             for nodeid, details in rows.items()],
            f"p{index}-cause-{number}",
        ))
    groups.sort(key=lambda group: (group.cause == UNKNOWN, -len(group.rows), group.cause))
    return groups


def _timing(run: RuntimeRun, longest: float) -> TimingView:
    steps: list[tuple[str, float | None, float]] = []
    bad = []
    for step in TIMINGS:
        if step not in run.timings:
            continue
        seconds = run.timings[step]
        if seconds < 0:
            bad.append(step)
            steps.append((step, None, 0.0))
        else:
            steps.append((step, seconds, 100.0 * seconds / longest if longest else 0.0))
    counts = [0] * len(DURATION_BUCKETS)
    for test in run.tests:
        counts[next(i for i, (bound, _) in enumerate(DURATION_BUCKETS) if test.duration < bound)] += 1
    tallest = max(counts, default=0)
    histogram = [(label, count, 100.0 * count / tallest if tallest else 0.0)
                 for (_, label), count in zip(DURATION_BUCKETS, counts, strict=True)]
    note = BAD_TIMING.format(steps=", ".join(bad)) if bad else ""
    return TimingView(run.runtime, steps, note, histogram)


def package_view(index: int, package: PackageRun, side_files: SideFiles | None = None
                 ) -> PackageView:
    """The view of one package: summaries, failures by cause, restarts, the matrix rows,
    timings and durations.

    Long texts are cut by *side_files* (by default cut without writing the whole texts).
    Every failing test shown needs its cause decided (``reports.fill_causes``); one with
    none is shown under ``unknown``.
    """
    if side_files is None:
        side_files = SideFiles(None)
    failures: dict[str, dict[str, Detail]] = {}  # nodeid -> runtime -> detail
    reasons: list[Detail] = []
    errors: list[ErrorView] = []
    restarts: list[RestartView] = []
    detail_ids: dict[tuple[str, str], str] = {}
    for run_index, run in enumerate(package.runtimes):
        for number, text in enumerate(run.errors, start=1):
            shown = side_files.runtime_error(package.name, run.runtime, number, text)
            errors.append(ErrorView(run.runtime, headline(text), shown))
        for restart in run.restarts:
            restarts.append(RestartView(run.runtime, restart, headline(restart.reason),
                                        restart_cause(restart.reason)))
        for test_index, test in enumerate(run.tests):
            detail_id = f"p{index}-r{run_index}-t{test_index}"
            if test.outcome in BAD_OUTCOMES:
                shown_test = side_files.test(package.name, run.runtime, test)
                failures.setdefault(test.nodeid, {})[run.runtime] = Detail(
                    detail_id, run.runtime, test, shown_test.message,
                    [shown_test.longrepr, *shown_test.sections] if shown_test.longrepr.text
                    else shown_test.sections,
                )
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
                    run.runtime, outcome, SYMBOLS.get(outcome, "?"), _title(found),
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

    longest = max((sum(max(0.0, s) for s in run.timings.values()) for run in package.runtimes),
                  default=0.0)
    timed = heapq.nlargest(  # as sorted(..., reverse=True)[:SLOWEST], without sorting all
        SLOWEST, ((test, run.runtime) for run in package.runtimes for test in run.tests),
        key=lambda pair: pair[0].duration,
    )
    keys: dict[str, None] = {}
    for run in package.runtimes:
        for key in run.environment:
            keys.setdefault(key, None)
    groups = _cause_groups(index, package, failures)
    return PackageView(
        index=index,
        anchor=f"package-{index}",
        package=package,
        summaries=summaries,
        differing=differing,
        same=same,
        errors=errors,
        causes=groups,
        failing_tests=len(failures),
        explained_tests=sum(all(detail.test.cause for detail in by_runtime.values())
                            for by_runtime in failures.values()),
        failure_rows=sum(len(group.rows) for group in groups),
        restarts=restarts,
        reasons=reasons,
        timings=[_timing(run, longest) for run in package.runtimes],
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
        unknown=UNKNOWN,
        timing_steps=TIMINGS,
        duration_labels=[label for _, label in DURATION_BUCKETS],
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
