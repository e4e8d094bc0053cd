"""--pyodide-workers end to end, on real runtimes: instances share a runtime's tests as they go.

Every instance collects the whole suite and runs only what the host hands it
(``scheduling.py``), through the host -> runtime channel: stdin and a shared
ring in Node, a page call and a shared ring in the browsers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pyodide_harness.reportdir import load_results

Run = Callable[..., pytest.RunResult]


def ran_by_instance(report_dir: Path) -> dict[str, int]:
    """How many tests each instance ran, from the run's results.json."""
    (run,) = load_results(report_dir).packages[0].runtimes
    return run.instances


# The first test is slow: the instance that gets it should run few of the rest.
# A static split (every 2nd test) would give each instance 25 or 26.
UNEVEN_SUITE = {
    "tests/test_uneven.py": """
        import time
        import pytest

        def test_00_slow():
            time.sleep(8)

        @pytest.mark.parametrize("n", range(50))
        def test_quick(n):
            time.sleep(0.05)
    """,
}


@pytest.mark.browser
@pytest.mark.node
@pytest.mark.parametrize("runtime", ["node", "chromium", "firefox"])
def test_an_instance_held_up_by_a_slow_test_leaves_the_rest_to_the_other(
    suite: Callable[..., Path], run: Run, runtime: str
) -> None:
    wheel = suite(UNEVEN_SUITE)
    result = run(f"--pyodide-wheel={wheel}", "--pyodide-workers=2", "--pyodide-report-dir=report",
                 runtime=runtime)
    result.assert_outcomes(passed=51)
    assert result.ret == 0
    ran = ran_by_instance(wheel.parent.parent / "project" / "report")
    assert set(ran) == {runtime, f"{runtime}#2"}, result.stdout.str()[-3000:]  # both booted
    assert sum(ran.values()) == 51  # every test once
    assert min(ran.values()) <= 15, ran


DYING_SUITE = {
    "tests/test_dying.py": """
        import os
        import pytest

        def test_00_os_exit():
            os._exit(3)

        @pytest.mark.parametrize("n", range(20))
        def test_after(n):
            pass
    """,
}


@pytest.mark.node
def test_tests_of_an_instance_that_dies_for_good_go_to_the_other(
    suite: Callable[..., Path], run: Run
) -> None:
    wheel = suite(DYING_SUITE)
    result = run(f"--pyodide-wheel={wheel}", "--pyodide-workers=2", "--pyodide-max-restarts=0",
                 "-rA", "--pyodide-report-dir=report")
    # With a static split, the dead instance's share would be "not run" errors.
    result.assert_outcomes(passed=20, failed=1)
    result.stdout.fnmatch_lines([
        "pyodide-harness: node* stopped (node* failed fatally (Pyodide fatal error*); "
        "the other instances of node take its remaining tests",
        "FAILED tests/test_dying.py::test_00_os_exit[[]node[]] - *",
    ])
    assert "not run" not in result.stdout.str()
    assert sum(ran_by_instance(wheel.parent.parent / "project" / "report").values()) == 20
