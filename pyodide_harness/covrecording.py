"""``--pyodide-cov`` as an observer of the run: the runtimes' coverage in, data files out.

Registered by ``plugin.py`` beside the session when coverage is asked for. Every
``pytest_pyodide_coverage`` call adds to its runtime's data file at once (``covdata.py``),
so what finished tests ran is on disk even if a runtime, or the host, dies later. At the
end of the session the files are combined, read back with coverage.py's report, compared
with a native run (``--pyodide-cov-compare``), and shown: a table of each runtime's total
in the terminal; with ``--pyodide-report-dir``, ``coverage.json`` and ``coverage.html``
beside the data files in ``coverage/``. Without a report directory the data files go
where pytest was started, as pytest-cov's ``.coverage`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from . import covdata
from .covdata import COMBINED, CoverageStore, CoverageSummary, PathMap
from .paths import cache_dir
from .preparation import Plan
from .protocol import CoverageMeasured
from .settings import Settings
from .terminal import aligned

READ_WITH = "coverage data in {directory}: {files} (read with: coverage report --data-file={combined})"
RUNTIME_WARNING = "{runtime}: coverage.py: {warning}"
MEASURED_BY = "measured in {runtimes} with {tool}"
ADD_FAILED = "{runtime}: coverage data not kept: {error}"


class CoverageRecorder:
    def __init__(self, config: pytest.Config, settings: Settings, say: Callable[[str], None]) -> None:
        self.config = config
        self.settings = settings
        self.say = say
        report_dir = settings.report_dir
        self.directory = (report_dir / covdata.REPORT_SUBDIR if report_dir is not None
                          else config.invocation_params.dir)
        # Files only a wheel has are copied out so coverage.py's reports read them: into the
        # report directory, else the user cache (never into the project).
        self.copies = (self.directory / covdata.WHEEL_SUBDIR if report_dir is not None
                       else cache_dir() / "coverage" / covdata.WHEEL_SUBDIR)
        self.store: CoverageStore | None = None
        self.packages: tuple[str, ...] = ()
        self.problems: list[str] = []  # coverage could not start, failed, data not kept
        self.warnings: dict[str, dict[str, None]] = {}  # runtime -> coverage.py's warnings
        self.measured_by: dict[str, str] = {}  # runtime -> "coverage.py 7.13.5, SysMonitor core"
        self.summaries: list[CoverageSummary] = []
        self.files: list[Path] = []
        self.written: list[Path] = []
        self.final_notes: list[str] = []  # notes() once the data files are closed

    # -- the run ------------------------------------------------------------------------
    def pytest_pyodide_prepared(self, plan: Plan) -> None:
        under_test = [w.path for w in plan.wheels]
        paths = PathMap(self.config.rootpath, [n for w in plan.wheels for n in w.top_level],
                        plan.tree.excluded, [*under_test, *plan.dependencies], self.copies,
                        under_test)
        self.store = CoverageStore(self.directory, paths)
        options = next((i.job.options.coverage for i in plan.instances
                        if i.job.options.coverage is not None), None)
        self.packages = options.source_pkgs if options is not None else ()

    def pytest_pyodide_coverage(self, runtime: str, instance: str, data: CoverageMeasured) -> None:
        if data.error:
            self._problem(f"{instance}: {data.error}")
        for warning in data.warnings:
            self.warnings.setdefault(runtime, {})[warning] = None
        if data.measured_by:
            self.measured_by[runtime] = data.measured_by
        if self.store is None:
            return
        from coverage.exceptions import CoverageException

        try:
            self.store.add(runtime, data.branch, data.arcs if data.branch else data.lines)
        except (CoverageException, OSError) as exc:
            self._problem(ADD_FAILED.format(runtime=instance, error=exc))

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)
            self.say(f"coverage: {text}")

    def pytest_sessionfinish(self) -> None:
        if self.store is None:
            return
        paths = self.store.paths
        config = covdata.find_config(paths.rootdir)
        self.files = self.store.close(config)
        if not self.files:
            self.final_notes = self.notes()
            return
        runtimes = [*self.store.runtimes, COMBINED]
        self.summaries = [covdata.summarize(name, path, config, paths.rootdir, paths.notes)
                          for name, path in zip(runtimes, self.files, strict=True)]
        compare = self.settings.coverage_compare
        if compare is not None:
            native = covdata.native_lines(compare, paths)
            for summary in self.summaries:
                covdata.compare(summary, native)
        self.final_notes = self.notes()
        if self.settings.report_dir is not None:
            from .reports.coverage import write_coverage_reports

            self.written = write_coverage_reports(self.summaries, self.final_notes,
                                                  self.settings.report_dir, compare)

    def notes(self) -> list[str]:
        """What the reports should say besides the numbers: files that are not simply the
        project's, compiled modules, coverage.py's warnings, problems."""
        assert self.store is not None
        paths = self.store.paths
        lines = [f"{self._shown(path)}: {note}" for path, note in sorted(paths.notes.items())]
        lines += [f"{name}: {covdata.COMPILED}" for name in paths.compiled(self.packages)]
        by_tool: dict[str, list[str]] = {}
        for runtime, tool in sorted(self.measured_by.items()):
            by_tool.setdefault(tool, []).append(runtime)
        lines += [MEASURED_BY.format(runtimes=", ".join(runtimes), tool=tool)
                  for tool, runtimes in by_tool.items()]
        lines += [RUNTIME_WARNING.format(runtime=runtime, warning=warning)
                  for runtime, found in self.warnings.items() for warning in found]
        return lines + self.problems

    def _shown(self, path: str | Path) -> str:
        for base in (self.config.invocation_params.dir, self.config.rootpath):
            try:
                return Path(path).relative_to(base).as_posix()
            except ValueError:
                continue
        return str(path)

    # -- the terminal --------------------------------------------------------------------
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.summaries and not self.problems:
            return
        tr = terminalreporter
        tr.write_sep("=", "pyodide-harness coverage")
        compare = self.settings.coverage_compare is not None
        rows = [("data", "stmts", "miss", "branch", "brpart", "cover",
                 *(("natively only",) if compare else ()))]
        for s in self.summaries:
            if s.error:
                tr.write_line(f"{s.name}: {s.error}")
                continue
            rows.append((s.name, str(s.statements), str(s.missing), str(s.branches),
                         str(s.partial), f"{s.shown or f'{s.percent:.0f}'}%",
                         *((f"{s.native_only} lines",) if compare else ())))
        for line in aligned(rows) if len(rows) > 1 else ():
            tr.write_line(line)
        for line in self.final_notes:
            tr.write_line(line)
        if self.files:
            tr.write_line(READ_WITH.format(directory=self._shown(self.directory) or ".",
                                           files=", ".join(f.name for f in self.files),
                                           combined=self._shown(self.files[-1])))
        if self.written:
            tr.write_line(f"coverage report: {self._shown(self.written[-1])}")

