"""Every report rendered from one ``Results``: results.json, JUnit XML, index.html, badges.

Rendering only from the results model (never from live pytest objects) is what lets
``pyodide-harness report`` and ``merge`` re-create the exact same files later.
"""

from __future__ import annotations

from pathlib import Path

from pyodide_harness.reports.badges import write_badges
from pyodide_harness.reports.html import write_html
from pyodide_harness.reports.junit import write_junit
from pyodide_harness.results import RESULTS_FILENAME, Results, save_results

__all__ = ["write_badges", "write_html", "write_junit", "write_reports"]


def write_reports(results: Results, out_dir: Path) -> list[Path]:
    """Write results.json, junit.xml (+ per runtime), index.html and the badges into *out_dir*.

    Returns the paths written, results.json first.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [save_results(results, out_dir / RESULTS_FILENAME)]
    written += write_junit(results, out_dir)
    written.append(write_html(results, out_dir))
    written += write_badges(results, out_dir)
    return written
