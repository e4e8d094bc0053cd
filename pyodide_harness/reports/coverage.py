"""``coverage.html``: coverage measured in each runtime (``--pyodide-cov``), one page.

One row per file, one column per runtime plus the combined data: the percentage coverage.py
reports and the missing lines; files that are not simply the project's (only in the
wheel, differing from it) say so. With a native data file (``--pyodide-cov-compare``), a
section per runtime lists the lines the native run ran and the runtime did not. Rendered
through one autoescaping Jinja template; the page has no script and reaches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyodide_harness import __version__
from pyodide_harness.covdata import (
    COMBINED,
    REPORT_SUBDIR,
    SUMMARY_FILENAME,
    CoverageSummary,
    FileCoverage,
    write_summary,
)
from pyodide_harness.reports.html import _environment

HTML_FILENAME = "coverage.html"


def coverage_view(summaries: Sequence[CoverageSummary]) -> list[dict[str, Any]]:
    """The file matrix: each file's note and its coverage in every data file ("" if absent)."""
    rows: dict[str, dict[str, Any]] = {}
    for summary in summaries:
        for entry in summary.files:
            row = rows.setdefault(entry.path, {"path": entry.path, "note": entry.note, "cells": {}})
            row["note"] = row["note"] or entry.note
            row["cells"][summary.name] = entry
    return [rows[path] for path in sorted(rows)]


def write_coverage_html(summaries: Sequence[CoverageSummary], notes: Sequence[str], path: Path,
                        native: str = "", data_dir: str = "") -> Path:
    """Render the page into ``path``; ``native`` names the compared native data file."""
    template = _environment().get_template("coverage.html.j2")
    runtimes = [s for s in summaries if s.name != COMBINED]
    compared: list[tuple[CoverageSummary, list[FileCoverage]]] = [
        (s, [f for f in s.files if f.native_only]) for s in summaries] if native else []
    html = template.render(
        summaries=summaries, runtimes=runtimes, rows=coverage_view(summaries), notes=list(notes),
        native=native, compared=compared, data_dir=data_dir, harness_version=__version__)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def write_coverage_reports(summaries: Sequence[CoverageSummary], notes: Sequence[str],
                           report_dir: Path, native: Path | None = None) -> list[Path]:
    """``coverage/coverage.json`` and ``coverage.html`` in a report directory."""
    summary = write_summary(summaries, notes, report_dir / REPORT_SUBDIR / SUMMARY_FILENAME)
    html = write_coverage_html(summaries, notes, report_dir / HTML_FILENAME,
                               native=str(native) if native is not None else "",
                               data_dir=REPORT_SUBDIR)
    return [summary, html]
