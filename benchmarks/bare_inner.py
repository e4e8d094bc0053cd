"""Run inside Pyodide by the bare runners: ONE pytest.main over the suite, nothing else.

The only addition to a plain ``pytest.main`` is a mark when collection is over,
so the benchmark can split collection from execution the same way for the bare
runners and for the harness. ``bench_bridge`` is registered by the JS side.
"""

from __future__ import annotations

import json
import os

import bench_bridge  # type: ignore[import-not-found]
import pytest


class _Marks:
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        bench_bridge.mark(f"collected {len(session.items)}")


def main(job_json: str) -> int:
    job = json.loads(job_json)
    os.chdir(job["root"])
    args = ["-q", "-p", "no:cacheprovider", f"--rootdir={job['root']}", *job["paths"]]
    return int(pytest.main(args, plugins=[_Marks()]))
