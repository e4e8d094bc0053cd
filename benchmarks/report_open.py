"""How big index.html gets and how long browsers take to open it: ``python3 benchmarks/report_open.py``.

Issue 15 asks that the report keep working for 20,000 tests in 3 runtimes. This builds
results of that shape in memory (``--tests``, default 1,000, 5,000 and 20,000 per
runtime): 2% of the tests failing in every runtime with a traceback of about 2 KB and a
cause, 0.5% failing in one runtime only, 5% skipped, the rest passing, plus one restart
per runtime. It writes the reports, then opens index.html from disk in Chromium and
Firefox (the system browsers, through Playwright) and prints a table:

* size of index.html, and seconds to write every report (CPU of this process);
* ``load``: milliseconds from navigation to the load event (the page parsed, styled and
  its script run), from the page's own ``PerformanceNavigationTiming``;
* ``filter``: milliseconds the page takes to apply unticking the matrix's "passed"
  outcome and lay itself out again (the first filter indexes every row), timed inside
  the page;
* ``search``: the same for a test name put into the failures' search box.

Each browser figure is the best of ``--repeat`` page loads. It is a benchmark, not a
test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from pyodide_harness.reports import write_reports
from pyodide_harness.results import PackageRun, Restart, Results, RuntimeRun, TestResult

RUNTIMES = ("node", "chromium", "firefox")
CHROMIUM = "/usr/bin/chromium"
FIREFOX = "/usr/bin/firefox-esr"
TRACEBACK = (
    "    def test_case(self):\n        server = socket.socket()\n"
    + "        # a line of the test's source, as pytest shows it\n" * 30
    + ">       server.listen()\nE       OSError: [Errno 138] Not supported\n\n"
    "tests/test_mod.py:12: OSError"
)


def results_of(tests: int) -> Results:
    """One package, *tests* tests in each of three runtimes (see the module docstring)."""
    runs = []
    for index, runtime in enumerate(RUNTIMES):
        made = []
        for number in range(tests):
            nodeid = f"tests/test_mod{number // 100:03d}.py::TestCase::test_case_{number:05d}[param]"
            if number % 50 == 0 or (number % 200 == index + 1):
                made.append(TestResult(nodeid, "failed", "call", 0.05, TRACEBACK,
                                       [("Captured stdout call", "output line\n" * 5)],
                                       "OSError: [Errno 138] Not supported", "sockets"))
            elif number % 20 == 3:
                made.append(TestResult(nodeid, "skipped", "setup", 0.0,
                                       "('tests/x.py', 1, 'Skipped: needs threads')", [],
                                       "needs threads"))
            else:
                made.append(TestResult(nodeid, "passed", "call", 0.001 * (number % 300)))
        run = RuntimeRun(runtime, {"pyodide_version": "314.0.7"}, made, [], 100.0,
                         {"launch": 1.0, "boot": 4.0, "install": 1.0, "collection": 5.0,
                          "run": 89.0})
        run.restarts = [Restart(runtime, f"{runtime} failed fatally (Pyodide fatal error: "
                                "RangeError: Maximum call stack size exceeded)",
                                made[7].nodeid, 1)]
        runs.append(run)
    package = PackageRun("bench", "1.0", "bench-1.0-py3-none-any.whl", "0" * 64, {}, runs)
    return Results([package], "2025-01-31T12:00:00+00:00", "0.1.0")


def _open_once(browser: object, page_url: str, needle: str) -> tuple[float, float, float]:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_url, wait_until="load", timeout=300_000)
    load = page.evaluate(
        "() => performance.getEntriesByType('navigation')[0].loadEventEnd")
    # in the page, so Playwright's own round trips are not counted; reading the layout
    # afterwards makes the browser do the reflow the change caused
    filtered = page.evaluate("""() => {
        const box = document.querySelector("[data-matrix] input[data-filter-outcome='passed']");
        const started = performance.now();
        box.click();
        document.body.getBoundingClientRect();
        return performance.now() - started;
    }""")
    searched = page.evaluate("""(needle) => {
        const search = document.querySelector("[data-failures] input[type=search]");
        const started = performance.now();
        search.value = needle;
        search.dispatchEvent(new Event("input"));
        document.body.getBoundingClientRect();
        return performance.now() - started;
    }""", needle)
    page.close()
    if errors:
        raise RuntimeError(f"console errors in {page_url}: {errors[:3]}")
    return float(load), float(filtered), float(searched)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", default="1000,5000,20000",
                        help="Tests per runtime, comma-separated (default: 1000,5000,20000)")
    parser.add_argument("--repeat", type=int, default=3, help="Page loads per figure (best kept)")
    parser.add_argument("--browsers", default="chromium,firefox")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    sizes = [int(value) for value in args.tests.split(",")]
    browsers = args.browsers.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        launched = {}
        if "chromium" in browsers:
            launched["chromium"] = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        if "firefox" in browsers:
            launched["firefox"] = playwright.firefox.launch(channel="moz-firefox",
                                                            executable_path=FIREFOX)
        for tests in sizes:
            results = results_of(tests)
            out = Path(tmp) / str(tests)
            cpu = time.process_time()
            write_reports(results, out)
            written = time.process_time() - cpu
            page = out / "index.html"
            megabytes = page.stat().st_size / 1e6
            needle = results.packages[0].runtimes[0].tests[50].nodeid.split("::")[-1]
            for name, browser in launched.items():
                figures = [_open_once(browser, page.as_uri(), needle) for _ in range(args.repeat)]
                rows.append((f"{tests:,} x 3", f"{megabytes:.1f} MB", f"{written:.1f} s", name,
                             *(f"{min(column):,.0f}" for column in zip(*figures, strict=True))))
        for browser in launched.values():
            browser.close()
    header = ("tests", "index.html", "write", "browser", "load ms", "filter ms", "search ms")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
