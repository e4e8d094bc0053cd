"""Which browser binary a browser runtime launches (explicit > Playwright's > the system's),
and with which OS sandbox."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from pyodide_harness.errors import RuntimeStartError
from pyodide_harness.runners.base import RuntimeConfig
from pyodide_harness.runners.browser import BrowserRuntime, Launch
from pyodide_harness.runners.chromium import (
    SANDBOX_OFF_ROOT,
    SANDBOX_ON,
    SYSTEM_ARGS,
    ChromiumRuntime,
)
from pyodide_harness.runners.firefox import DISABLE_VARIABLE, SANDBOX_OFF_ENV, FirefoxRuntime
from pyodide_harness.runners.firefox import SANDBOX_ON as FIREFOX_SANDBOX_ON


def fake_binary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_playwright_managed_browser_wins_over_the_system(tmp_path: Path) -> None:
    managed = fake_binary(tmp_path / "ms-playwright" / "chrome")
    launch = ChromiumRuntime(RuntimeConfig()).choose_launch(str(managed))
    assert launch.executable is None  # Playwright launches its own build
    assert launch.options == {}


def test_system_browser_when_playwright_has_none(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    system = fake_binary(tmp_path / "bin" / "chromium")
    monkeypatch.setenv("PATH", str(system.parent))
    monkeypatch.setattr(ChromiumRuntime, "system_candidates", ("chromium",))
    launch = ChromiumRuntime(RuntimeConfig()).choose_launch(str(tmp_path / "missing"))
    assert launch.executable == system
    assert list(launch.options["args"]) == list(SYSTEM_ARGS)


def test_stock_firefox_goes_through_bidi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = fake_binary(tmp_path / "bin" / "firefox-esr")
    monkeypatch.setenv("PATH", str(system.parent))
    monkeypatch.setattr(FirefoxRuntime, "system_candidates", ("firefox-esr",))
    launch = FirefoxRuntime(RuntimeConfig()).choose_launch("")
    assert launch.executable == system
    assert launch.options == {"channel": "moz-firefox"}


def test_explicit_path_wins_and_must_exist(tmp_path: Path) -> None:
    explicit = fake_binary(tmp_path / "my-firefox")
    managed = fake_binary(tmp_path / "ms-playwright" / "firefox")
    config = RuntimeConfig(browser_paths={"firefox": explicit})
    assert FirefoxRuntime(config).choose_launch(str(managed)).executable == explicit
    missing = RuntimeConfig(browser_paths={"firefox": tmp_path / "nope"})
    with pytest.raises(RuntimeStartError, match="--pyodide-browser-path firefox=/path/to/firefox"):
        FirefoxRuntime(missing).choose_launch(str(managed))


def test_nothing_found_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(ChromiumRuntime, "system_candidates", ("chromium",))
    with pytest.raises(RuntimeStartError) as info:
        ChromiumRuntime(RuntimeConfig()).choose_launch("")
    text = str(info.value)
    assert "python -m playwright install chromium" in text
    assert "apt-get install chromium" in text


# -- the OS sandbox --------------------------------------------------------------

# What Playwright says when Chromium's sandbox cannot start (its rewrite of Chromium's log).
SANDBOX_FAILED = ("BrowserType.launch: Chromium sandboxing failed!\n"
                  "[pid=1][err] No usable sandbox! ...")


class FakeBrowserType:
    """Playwright's BrowserType.launch, failing the way a browser would."""

    def __init__(self, *failures: str) -> None:
        self.failures = list(failures)
        self.launches: list[dict[str, Any]] = []

    async def launch(self, **options: Any) -> str:
        self.launches.append(options)
        if self.failures:
            raise Exception(self.failures.pop(0))
        return "browser"


def launch_with(runtime: BrowserRuntime, browser_type: FakeBrowserType) -> tuple[Any, str]:
    launch = Launch(Path("/usr/bin/chromium"), {"args": list(SYSTEM_ARGS)}, "system chromium")
    return asyncio.run(runtime.launch_browser(browser_type, launch))


def as_user(monkeypatch: pytest.MonkeyPatch, uid: int) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    monkeypatch.setattr(os, "getuid", lambda: uid)


def test_no_sandbox_flag_is_never_passed_by_the_harness() -> None:
    assert not any("sandbox" in arg for arg in SYSTEM_ARGS)


def test_chromium_asks_for_its_sandbox_as_a_regular_user(monkeypatch: pytest.MonkeyPatch) -> None:
    as_user(monkeypatch, 1000)
    browser_type = FakeBrowserType()
    assert launch_with(ChromiumRuntime(RuntimeConfig()), browser_type) == ("browser", SANDBOX_ON)
    (options,) = browser_type.launches
    assert options["chromium_sandbox"] is True  # else Playwright adds --no-sandbox
    assert "--no-sandbox" not in options["args"]


def test_chromium_as_root_runs_without_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    as_user(monkeypatch, 0)
    browser_type = FakeBrowserType()
    assert launch_with(ChromiumRuntime(RuntimeConfig()), browser_type) == ("browser",
                                                                          SANDBOX_OFF_ROOT)
    assert [o["chromium_sandbox"] for o in browser_type.launches] == [False]


def test_chromium_falls_back_when_its_sandbox_cannot_start(monkeypatch: pytest.MonkeyPatch) -> None:
    as_user(monkeypatch, 1000)
    browser_type = FakeBrowserType(SANDBOX_FAILED)
    browser, status = launch_with(ChromiumRuntime(RuntimeConfig()), browser_type)
    assert browser == "browser"
    assert status.startswith("Chromium OS sandbox off (it could not start here: ")
    assert "user namespaces" in status  # the fix
    assert [o["chromium_sandbox"] for o in browser_type.launches] == [True, False]


def test_other_launch_failures_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    as_user(monkeypatch, 1000)
    browser_type = FakeBrowserType("spawn /usr/bin/chromium ENOENT")
    with pytest.raises(RuntimeStartError, match="could not be launched: spawn"):
        launch_with(ChromiumRuntime(RuntimeConfig()), browser_type)
    assert len(browser_type.launches) == 1


def test_failed_fallback_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    as_user(monkeypatch, 1000)
    browser_type = FakeBrowserType(SANDBOX_FAILED, "Target page, context or browser has been closed")
    with pytest.raises(RuntimeStartError, match="has been closed"):
        launch_with(ChromiumRuntime(RuntimeConfig()), browser_type)


def test_firefox_content_sandbox_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DISABLE_VARIABLE, raising=False)
    browser_type = FakeBrowserType()
    assert launch_with(FirefoxRuntime(RuntimeConfig()), browser_type)[1] == FIREFOX_SANDBOX_ON
    assert not any("sandbox" in name for name in browser_type.launches[0])
    monkeypatch.setenv(DISABLE_VARIABLE, "1")
    assert launch_with(FirefoxRuntime(RuntimeConfig()), FakeBrowserType())[1] == SANDBOX_OFF_ENV
