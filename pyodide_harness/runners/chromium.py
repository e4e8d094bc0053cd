"""Chromium runtime: Playwright's Chromium, or the system's (Debian's ``chromium``)."""

from __future__ import annotations

from pathlib import Path

from .browser import BrowserRuntime, Launch

# Without these a system Chromium tries to reach Google's services at every start.
SYSTEM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)


class ChromiumRuntime(BrowserRuntime):
    name = "chromium"
    playwright_type = "chromium"
    system_candidates = ("chromium", "chromium-browser", "/usr/bin/chromium", "google-chrome")
    system_package = "apt-get install chromium"

    def system_launch(self, path: Path) -> Launch:
        return Launch(path, {"args": list(SYSTEM_ARGS)}, f"system chromium {path}")
