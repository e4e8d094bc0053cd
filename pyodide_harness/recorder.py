"""The one writer of a report directory during a run: journal first, then the fold.

``record`` writes each record to ``journal.jsonl`` and folds it into the results;
``finish`` renders every report from the folded results. Nothing here knows
pytest: the session turns its events into records.
"""

from __future__ import annotations

from pathlib import Path

from .journal import JOURNAL_FILENAME, Journal
from .results import Record, Results, ResultsBuilder


class Recorder:
    def __init__(self, report_dir: Path) -> None:
        self.report_dir = report_dir
        self.builder = ResultsBuilder()
        self._journal = Journal(report_dir / JOURNAL_FILENAME)

    def record(self, record: Record) -> None:
        self._journal.write(record)
        self.builder.apply(record)

    def results(self) -> Results:
        return self.builder.build()

    def finish(self) -> list[Path]:
        """Write every report from what was recorded; the journal stays as the raw record."""
        self._journal.close()
        from .reports import write_reports  # jinja2 & co.: needed only now, at the end

        return write_reports(self.results(), self.report_dir)

    def close(self) -> None:
        self._journal.close()
