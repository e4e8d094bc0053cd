"""Firefox runtime: Playwright's Firefox, or stock Firefox driven over WebDriver BiDi.

Stock Firefox (Debian's ``firefox-esr``) is launched through Playwright's
``moz-firefox`` channel, which speaks BiDi instead of Playwright's patched
protocol; that works with playwright 1.57 to 1.64 (hence the pin).

Firefox's content sandbox (seccomp-bpf and namespaces around the process that runs
the page and its worker) is on by default. Neither the harness nor Playwright
passes a pref or variable that lowers it: Playwright's profile prefs do not touch
``security.sandbox.*`` and it adds only crash-reporter variables to the
environment. The one switch that commonly turns it off is the environment
variable ``MOZ_DISABLE_CONTENT_SANDBOX`` (CI images set it), which the browser
inherits; the run says when it is set.
"""

from __future__ import annotations

import os
from pathlib import Path

from .browser import BrowserRuntime, Launch, OsSandbox

#: Firefox turns its content sandbox off when this is set (to anything) in its environment.
DISABLE_VARIABLE = "MOZ_DISABLE_CONTENT_SANDBOX"
SANDBOX_ON = "Firefox content sandbox on (Firefox's default; the harness turns nothing off)"
SANDBOX_OFF_ENV = (f"Firefox content sandbox off ({DISABLE_VARIABLE} is set in the "
                   "environment; unset it to have the sandbox)")


class FirefoxRuntime(BrowserRuntime):
    name = "firefox"
    playwright_type = "firefox"
    system_candidates = ("firefox-esr", "firefox", "/usr/bin/firefox-esr", "/usr/bin/firefox")
    system_package = "apt-get install firefox-esr"

    def system_launch(self, path: Path) -> Launch:
        return Launch(path, {"channel": "moz-firefox"}, f"stock Firefox over BiDi {path}")

    def os_sandbox(self) -> OsSandbox:
        if DISABLE_VARIABLE in os.environ:
            return OsSandbox({}, SANDBOX_OFF_ENV)
        return OsSandbox({}, SANDBOX_ON)
