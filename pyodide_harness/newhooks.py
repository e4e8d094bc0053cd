"""Hooks the harness calls while runtimes work, for observers (like xdist's newhooks).

The harness's own terminal output (``terminal.py``) and report directory
(``recording.py``) are observers of these hooks, so a plugin or a test can watch
a run the same way instead of reading progress text. Test reports themselves go
through pytest's usual ``pytest_runtest_logreport``; they carry the runtime's
name as ``report.pyodide_runtime``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .preparation import Plan
    from .protocol import CoverageMeasured


@pytest.hookspec(historic=True)
def pytest_pyodide_prepared(config: pytest.Config, plan: Plan) -> None:
    """Inputs are ready (wheels checked, dependencies resolved, test tree packed);
    the runtimes start next."""


@pytest.hookspec()
def pytest_pyodide_runtime_started(config: pytest.Config, runtime: str, instance: str) -> None:
    """An instance of a runtime was started (booting Pyodide next)."""


@pytest.hookspec()
def pytest_pyodide_runtime_ready(config: pytest.Config, runtime: str, instance: str,
                                 environment: dict[str, str], boot: float,
                                 install: float) -> None:
    """Pyodide booted and the wheels are installed; ``environment`` holds versions, JSPI,
    sandbox, and ``boot``/``install`` are seconds measured inside the runtime."""


@pytest.hookspec()
def pytest_pyodide_runtime_collected(config: pytest.Config, runtime: str, instance: str,
                                     nodeids: list[str], deselected: int,
                                     environment: dict[str, str]) -> None:
    """The instance's session collected: ``nodeids`` is its selection in run order;
    ``environment`` everything known about the runtime by now (versions, import origins)."""


@pytest.hookspec()
def pytest_pyodide_module_missing(config: pytest.Config, runtime: str, instance: str,
                                  module: str, importer: str) -> None:
    """A module the suite imports (``importer``: the project's file that imported it) could
    not be imported in the runtime."""


@pytest.hookspec()
def pytest_pyodide_test_started(config: pytest.Config, runtime: str, instance: str,
                                nodeid: str) -> None:
    """An instance started the suite test ``nodeid`` (its reports come when it ends)."""


@pytest.hookspec()
def pytest_pyodide_runtime_error(config: pytest.Config, runtime: str, instance: str,
                                 text: str) -> None:
    """A problem of the runtime that no test report carries."""


@pytest.hookspec()
def pytest_pyodide_runtime_crashed(config: pytest.Config, runtime: str, instance: str,
                                   reason: str, nodeid: str | None, will_restart: bool,
                                   attempt: int) -> None:
    """The instance died (``nodeid``: the suite test it was running, if any). With
    ``will_restart`` it is started again as restart number ``attempt``."""


@pytest.hookspec()
def pytest_pyodide_runtime_restarted(config: pytest.Config, runtime: str, instance: str,
                                     attempt: int) -> None:
    """The instance that crashed starts again (restart number ``attempt``); it collects
    again and resumes after the tests already done."""


@pytest.hookspec()
def pytest_pyodide_runtime_finished(config: pytest.Config, runtime: str, instance: str,
                                    exitstatus: int | None, timings: dict[str, float],
                                    seconds: float, ran: int) -> None:
    """The instance is done for good (its session ended, or it died for the last time);
    ``timings`` as in ``results.TIMINGS``, ``seconds`` its wall time, ``ran`` the tests
    it finished."""


@pytest.hookspec()
def pytest_pyodide_coverage(config: pytest.Config, runtime: str, instance: str,
                            data: CoverageMeasured) -> None:
    """coverage.py's data came from the instance (``--pyodide-cov``): what its tests ran since
    the last call, or with ``data.final`` all it measured; paths are the runtime's."""


@pytest.hookspec()
def pytest_pyodide_idle(config: pytest.Config) -> None:
    """No event came for a second (booting, a slow test): time to refresh a status line."""
