"""``journal.jsonl``: the run's records, one JSON line each, written as they happen.

Each record is flushed before it is folded into the results, so a run that dies
(Ctrl-C, SIGTERM, a killed host) keeps everything that finished, and replaying
the journal folds the same records with the same code (``ResultsBuilder.apply``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from .results import Record, Results, ResultsBuilder, record_from_json, record_to_json

JOURNAL_FILENAME = "journal.jsonl"


class Journal:
    """The append-only writer of one journal file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = open(  # noqa: SIM115 - open for the whole run
            path, "w", encoding="utf-8", errors="surrogateescape"
        )

    def write(self, record: Record) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record_to_json(record), ensure_ascii=True) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_journal(path: Path) -> Iterator[Record]:
    """The records of a journal; a line cut short by a dying process is skipped."""
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            try:
                yield record_from_json(json.loads(line))
            except (ValueError, KeyError, TypeError):
                continue


def replay_journal(path: Path) -> Results:
    """The results a journal holds, folded exactly as during the run."""
    builder = ResultsBuilder()
    for record in read_journal(path):
        builder.apply(record)
    return builder.build()
