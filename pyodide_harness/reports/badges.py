"""README badges: ``badge.svg`` overall, ``badge-<runtime>.svg``, and a shields.io endpoint.

Every badge says the same two things, over all runtimes (``badge.svg``) or one
(``badge-<runtime>.svg``): the pass rate, and by its colour the verdict.

* The pass rate is the share of the tests that ran (all but the skipped) which passed:
  ``96% passing``. Expected failures count as not passing, so accepting failures with
  ``pyodide_xfail`` or a baseline never raises it.
* The colour is the CI gate's verdict: ``brightgreen`` when no test failed, errored or
  was left unrun and no runtime reported an error of its own (expected failures are
  fine: known failures only is green), ``yellow`` when the gate fails but at least half
  of the tests pass, ``red`` when fewer pass or a runtime ran no test at all, and
  ``lightgrey`` when nothing ran. Runtime errors are added to the message.

The overall badge used to count runtimes with no failure at all ("0/3 runtimes", red),
which said nothing of a package passing 96% in every runtime (issue 15). The SVG is
written by hand (shields.io's flat style) so no network or extra dependency is needed;
text widths are estimated from the text.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

from pyodide_harness.reports.junit import safe_filename, xml_safe
from pyodide_harness.results import PASSED, SKIPPED, XPASSED, Results, RuntimeRun

COLORS = {
    "brightgreen": "#4c1",
    "yellow": "#dfb317",
    "red": "#e05d44",
    "lightgrey": "#9f9f9f",
}
"""shields.io colour names used in badge.json, and the hex they stand for in the SVGs."""

_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" \
aria-label="{label}: {message}">
  <title>{label}: {message}</title>
  <linearGradient id="s" x2="0" y2="100%">
    <stop offset="0" stop-color="#bbb" stop-opacity=".1"/>
    <stop offset="1" stop-opacity=".1"/>
  </linearGradient>
  <clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>
  <g clip-path="url(#r)">
    <rect width="{label_width}" height="20" fill="#555"/>
    <rect x="{label_width}" width="{message_width}" height="20" fill="{color}"/>
    <rect width="{width}" height="20" fill="url(#s)"/>
  </g>
  <g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" \
font-size="11">
    <text x="{label_x}" y="15" fill="#010101" fill-opacity=".3">{label}</text>
    <text x="{label_x}" y="14">{label}</text>
    <text x="{message_x}" y="15" fill="#010101" fill-opacity=".3">{message}</text>
    <text x="{message_x}" y="14">{message}</text>
  </g>
</svg>
"""

_NARROW = set("ijl.,:;|!'` ")
_SEMI_NARROW = set("fIrt()[]{}/\\-")
_WIDE = set("mwMW%@")


def text_width(text: str) -> float:
    """Estimated width in pixels of *text* in 11px Verdana (what badges are drawn in)."""
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 3.8
        elif char in _SEMI_NARROW:
            width += 4.6
        elif char in _WIDE:
            width += 10.5
        elif char.isupper() or not char.isascii():
            width += 7.6
        else:
            width += 7.0
    return width


@dataclass(frozen=True)
class Badge:
    """A two-part badge; *color* is a key of ``COLORS``."""

    label: str
    message: str
    color: str

    def to_json(self) -> dict[str, object]:
        """The shields.io endpoint document (https://shields.io/badges/endpoint-badge)."""
        return {
            "schemaVersion": 1,
            "label": self.label,
            "message": self.message,
            "color": self.color,
        }

    def to_svg(self) -> str:
        """The badge as a standalone SVG, its texts escaped."""
        label_width = round(text_width(self.label) + 10)
        message_width = round(text_width(self.message) + 10)
        return _SVG.format(
            width=label_width + message_width,
            label_width=label_width,
            message_width=message_width,
            label_x=label_width / 2,
            message_x=label_width + message_width / 2,
            color=COLORS.get(self.color, COLORS["lightgrey"]),
            label=html.escape(xml_safe(self.label), quote=True),
            message=html.escape(xml_safe(self.message), quote=True),
        )


def pyodide_label(results: Results) -> str:
    """``pyodide 314`` from the runtimes' pyodide_version, or ``pyodide`` when unknown."""
    for package in results.packages:
        for run in package.runtimes:
            version = run.environment.get("pyodide_version", "")
            if version:
                return f"pyodide {version.split('.')[0]}"
    return "pyodide"


def _runs(results: Results, runtime: str | None = None) -> list[RuntimeRun]:
    return [run for package in results.packages for run in package.runtimes
            if runtime is None or run.runtime == runtime]


def pass_rate(runs: list[RuntimeRun]) -> tuple[int, int]:
    """``(passed, ran)`` over *runs*: tests that passed (or passed unexpectedly) and
    tests that were not skipped."""
    passed = ran = 0
    for run in runs:
        for test in run.tests:
            if test.outcome != SKIPPED:
                ran += 1
                passed += test.outcome in (PASSED, XPASSED)
    return passed, ran


def verdict_badge(label: str, runs: list[RuntimeRun]) -> Badge:
    """*label* with the pass rate of *runs*, coloured by the gate's verdict on them."""
    if not runs:
        return Badge(label, "no runs", "lightgrey")
    errors = sum(len(run.errors) for run in runs)
    passed, ran = pass_rate(runs)
    if ran == 0:
        return Badge(label, "error" if errors else "no tests", "red" if errors else "lightgrey")
    percent = passed * 100 // ran
    message = f"{percent}% passing"
    if errors:
        message += f", {errors} error" + ("s" if errors > 1 else "")
    if all(run.passing for run in runs):
        color = "brightgreen"
    elif percent >= 50 and all(run.tests for run in runs):
        color = "yellow"
    else:
        color = "red"
    return Badge(label, message, color)


def overall_badge(results: Results) -> Badge:
    """``pyodide 314 | 96% passing`` over every runtime of every package."""
    return verdict_badge(pyodide_label(results), _runs(results))


def runtime_badge(results: Results, runtime: str) -> Badge:
    """``pyodide 314 node | 96% passing``: the same, for one runtime."""
    return verdict_badge(f"{pyodide_label(results)} {runtime}", _runs(results, runtime))


def write_badges(results: Results, out_dir: Path) -> list[Path]:
    """``badge.svg``, ``badge.json`` and ``badge-<runtime>.svg`` for each runtime."""
    out_dir.mkdir(parents=True, exist_ok=True)
    overall = overall_badge(results)
    written = [out_dir / "badge.svg", out_dir / "badge.json"]
    written[0].write_text(overall.to_svg(), encoding="utf-8")
    written[1].write_text(json.dumps(overall.to_json()) + "\n", encoding="utf-8")
    for runtime in results.runtime_names():
        path = out_dir / f"badge-{safe_filename(runtime)}.svg"
        path.write_text(runtime_badge(results, runtime).to_svg(), encoding="utf-8")
        written.append(path)
    return written
