"""A report directory as a whole: which file holds a run's results.

``results.json`` (owned by ``results.py``) is written when a run ends; a run that
died before that leaves only ``journal.jsonl`` (owned by ``journal.py``). Readers
that take "a results.json or a report directory" come here.
"""

from __future__ import annotations

from pathlib import Path

from .errors import HarnessError
from .journal import JOURNAL_FILENAME, replay_journal
from .results import NO_RESULTS_FILE, RESULTS_FILENAME, Results, read_results


def results_path(path_or_dir: str | Path) -> Path:
    """The results.json meant by *path_or_dir* (the file itself, or inside a report dir)."""
    path = Path(path_or_dir)
    return path / RESULTS_FILENAME if path.is_dir() else path


def load_results(path_or_dir: str | Path) -> Results:
    """A run's results: its results.json, or its journal when the run died first."""
    path = results_path(path_or_dir)
    journal = path.parent / JOURNAL_FILENAME
    if not path.exists():
        if journal.exists():
            return replay_journal(journal)
        raise HarnessError(NO_RESULTS_FILE.format(path=path_or_dir, filename=RESULTS_FILENAME))
    return read_results(path)
