"""Results as they arrive: a results builder plus an append-only journal beside it.

Every call is written to ``journal.jsonl`` before it is applied, one JSON line
each, flushed at once. A run that dies (Ctrl-C, SIGTERM, a killed host) keeps
everything that finished; ``pyodide-harness report DIR`` rebuilds the reports
from the journal when ``results.json`` was never written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from .results import Results, ResultsBuilder

JOURNAL_FILENAME = "journal.jsonl"
_CALLS = ("package", "runtime", "collected", "add_phase", "runtime_error", "runtime_duration")


class Recorder:
    """The one writer of a report directory during a run."""

    def __init__(self, report_dir: Path) -> None:
        self.report_dir = report_dir
        report_dir.mkdir(parents=True, exist_ok=True)
        self.builder = ResultsBuilder()
        self._journal: TextIO | None = open(  # noqa: SIM115 - open for the whole run
            report_dir / JOURNAL_FILENAME, "w", encoding="utf-8", errors="surrogateescape"
        )

    def _log(self, call: str, kwargs: dict[str, Any]) -> None:
        if self._journal is not None:
            self._journal.write(json.dumps({"call": call, "kwargs": kwargs}, ensure_ascii=True) + "\n")
            self._journal.flush()
        getattr(self.builder, call)(**kwargs)

    def package(self, name: str, version: str, wheel: str, sha256: str,
                metadata: Mapping[str, str]) -> None:
        self._log("package", {"name": name, "version": version, "wheel": wheel,
                              "sha256": sha256, "metadata": dict(metadata)})

    def runtime(self, package_name: str, runtime: str, environment: Mapping[str, str]) -> None:
        self._log("runtime", {"package_name": package_name, "runtime": runtime,
                              "environment": dict(environment)})

    def collected(self, package_name: str, runtime: str, nodeids: Iterable[str]) -> None:
        self._log("collected", {"package_name": package_name, "runtime": runtime,
                                "nodeids": list(nodeids)})

    def add_phase(self, package_name: str, runtime: str, nodeid: str, when: str, outcome: str,
                  duration: float, longrepr: str, sections: Sequence[tuple[str, str]],
                  wasxfail: str | None, message: str | None) -> None:
        self._log("add_phase", {
            "package_name": package_name, "runtime": runtime, "nodeid": nodeid, "when": when,
            "outcome": outcome, "duration": duration, "longrepr": longrepr,
            "sections": [list(s) for s in sections], "wasxfail": wasxfail, "message": message,
        })

    def runtime_error(self, package_name: str, runtime: str, text: str) -> None:
        self._log("runtime_error", {"package_name": package_name, "runtime": runtime, "text": text})

    def runtime_duration(self, package_name: str, runtime: str, seconds: float) -> None:
        self._log("runtime_duration", {"package_name": package_name, "runtime": runtime,
                                       "seconds": seconds})

    def finish(self) -> list[Path]:
        """Write every report from what was recorded; the journal stays as the raw record."""
        self.close()
        from .reports import write_reports  # jinja2 & co.: needed only now, at the end

        return write_reports(self.builder.build(), self.report_dir)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def replay_journal(path: Path) -> Results:
    """Rebuild results from a journal; a line cut short by a dying process is ignored."""
    builder = ResultsBuilder()
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            call, kwargs = entry.get("call"), entry.get("kwargs", {})
            if call not in _CALLS:
                continue
            if call == "add_phase":
                kwargs["sections"] = [tuple(s) for s in kwargs.get("sections", ())]
            getattr(builder, call)(**kwargs)
    return builder.build()
