"""Which browser binary a browser runtime launches: explicit > Playwright's > the system's."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyodide_harness.errors import RuntimeStartError
from pyodide_harness.runners.base import RuntimeConfig
from pyodide_harness.runners.chromium import SYSTEM_ARGS, ChromiumRuntime
from pyodide_harness.runners.firefox import FirefoxRuntime


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
