"""Firefox runtime: Playwright's Firefox, or stock Firefox driven over WebDriver BiDi.

Stock Firefox (Debian's ``firefox-esr``) is launched through Playwright's
``moz-firefox`` channel, which speaks BiDi instead of Playwright's patched
protocol; that works with playwright 1.57 to 1.64 (hence the pin).
"""

from __future__ import annotations

from pathlib import Path

from .browser import BrowserRuntime, Launch


class FirefoxRuntime(BrowserRuntime):
    name = "firefox"
    playwright_type = "firefox"
    system_candidates = ("firefox-esr", "firefox", "/usr/bin/firefox-esr", "/usr/bin/firefox")
    system_package = "apt-get install firefox-esr"

    def system_launch(self, path: Path) -> Launch:
        return Launch(path, {"channel": "moz-firefox"}, f"stock Firefox over BiDi {path}")
