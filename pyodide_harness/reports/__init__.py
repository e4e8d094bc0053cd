"""Every report rendered from one ``Results``: results.json, JUnit XML, index.html, badges.

Rendering only from the results model (never from live pytest objects) is what lets
``pyodide-harness report`` and ``merge`` re-create the exact same files later.
JUnit and HTML cut texts longer than ``MAX_TEXT_CHARS`` and point to the whole text in
``output/`` (see ``longtext``); results.json keeps every text whole. Failing tests read
from a results.json written before causes existed get theirs here (``fill_causes``).
"""

from __future__ import annotations

from pathlib import Path

from pyodide_harness import causes
from pyodide_harness.reports.badges import write_badges
from pyodide_harness.reports.html import write_html
from pyodide_harness.reports.junit import write_junit
from pyodide_harness.reports.longtext import MAX_TEXT_CHARS, OUTPUT_DIR, SideFiles
from pyodide_harness.reports.nogc import paused_gc
from pyodide_harness.results import RESULTS_FILENAME, Results, save_results

__all__ = [
    "MAX_TEXT_CHARS",
    "OUTPUT_DIR",
    "SideFiles",
    "fill_causes",
    "write_badges",
    "write_html",
    "write_junit",
    "write_reports",
]


def fill_causes(results: Results) -> Results:
    """Decide the cause of every failing test that has none stored (results.json files
    from before causes, or merged from such files); returns *results*, changed in place."""
    for package in results.packages:
        for run in package.runtimes:
            causes.fill_run(run)
    return results


def write_reports(results: Results, out_dir: Path) -> list[Path]:
    """Write results.json, junit.xml (+ per runtime), index.html and the badges into *out_dir*.

    Failing tests without a stored cause get one first (``fill_causes``). Returns the
    paths written, results.json first, then the side files with the whole texts of what
    JUnit and HTML show cut (none when nothing was too long).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    side_files = SideFiles(out_dir)  # shared, so each whole text is written once
    with paused_gc():
        fill_causes(results)
        written = [save_results(results, out_dir / RESULTS_FILENAME)]
        written += write_junit(results, out_dir, side_files)
        written.append(write_html(results, out_dir, side_files))
        written += write_badges(results, out_dir)
    return written + side_files.written
