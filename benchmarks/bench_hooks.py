"""Loaded into the benchmark's harness runs (``-p bench_hooks``): when each runtime
started and finished, on the host's monotonic clock.

``results.json`` has each runtime's steps (launch, boot, install, collection, run)
as durations, but not when the runtime started after the command was spawned
(the harness's preparation) nor how long the command ran after the runtime was
done (its teardown). The harness's observer hooks (``pytest_pyodide_runtime_started``
and ``..._finished``, see ``pyodide_harness/newhooks.py``) give both as two
stamps of ``time.monotonic()``, the clock ``procs.run`` reads at spawn (on Linux
``CLOCK_MONOTONIC``, one clock for every process). The stamps are written as JSON
to ``$BENCH_STAMPS`` when pytest ends: ``{"started": {instance: t}, "finished": {instance: t}}``.
"""

from __future__ import annotations

import json
import os
import time

import pytest

STAMPS_ENV = "BENCH_STAMPS"

_started: dict[str, float] = {}
_finished: dict[str, float] = {}


def pytest_pyodide_runtime_started(instance: str) -> None:
    _started.setdefault(instance, time.monotonic())  # a restart starts it again: keep the first


def pytest_pyodide_runtime_finished(instance: str) -> None:
    _finished[instance] = time.monotonic()


def pytest_unconfigure(config: pytest.Config) -> None:
    path = os.environ.get(STAMPS_ENV)
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"started": _started, "finished": _finished}, f)
