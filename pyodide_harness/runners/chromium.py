"""Chromium runtime: Playwright's Chromium, or the system's (Debian's ``chromium``).

Chromium runs with its OS sandbox wherever the OS allows it. Playwright passes
``--no-sandbox`` unless ``chromium_sandbox=True``; the harness asks for the sandbox
except as root, where Chromium refuses to start with it ("Running as root without
--no-sandbox is not supported. See https://crbug.com/638180."), and falls back to
no sandbox, saying why, when the sandbox cannot start (no unprivileged user
namespaces and no setuid ``chrome-sandbox`` helper: "No usable sandbox!").
"""

from __future__ import annotations

import os
from pathlib import Path

from .browser import BrowserRuntime, Launch, OsSandbox

# Without these a system Chromium tries to reach Google's services at every start.
SYSTEM_ARGS = (
    "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)

SANDBOX_ON = "Chromium OS sandbox on"
SANDBOX_OFF_ROOT = ("Chromium OS sandbox off (running as root: Chromium refuses its sandbox "
                    "as root; run as a regular user to have it)")
SANDBOX_OFF_UNAVAILABLE = (
    "Chromium OS sandbox off (it could not start here: {reason}; allow unprivileged user "
    "namespaces, e.g. sysctl kernel.unprivileged_userns_clone=1 or, on Ubuntu, "
    "kernel.apparmor_restrict_unprivileged_userns=0, to have it)"
)
# Signs that a launch failed because the sandbox could not start (Chromium's own
# messages, and the text Playwright puts in their place).
SANDBOX_FAILURES = ("No usable sandbox!", "crbug.com/638180", "crbug.com/357670",
                    "Chromium sandboxing failed")


def running_as_root() -> bool:
    """Chromium does not start its sandbox as root (POSIX only; never on Windows)."""
    if not hasattr(os, "geteuid"):
        return False
    return os.geteuid() == 0 or os.getuid() == 0


class ChromiumRuntime(BrowserRuntime):
    name = "chromium"
    playwright_type = "chromium"
    system_candidates = ("chromium", "chromium-browser", "/usr/bin/chromium", "google-chrome")
    system_package = "apt-get install chromium"

    def system_launch(self, path: Path) -> Launch:
        return Launch(path, {"args": list(SYSTEM_ARGS)}, f"system chromium {path}")

    def os_sandbox(self) -> OsSandbox:
        if running_as_root():
            return OsSandbox({"chromium_sandbox": False}, SANDBOX_OFF_ROOT)
        return OsSandbox({"chromium_sandbox": True}, SANDBOX_ON)

    def sandbox_fallback(self, error: str) -> OsSandbox | None:
        reason = next((sign for sign in SANDBOX_FAILURES if sign in error), None)
        if reason is None:
            return None
        return OsSandbox({"chromium_sandbox": False},
                         SANDBOX_OFF_UNAVAILABLE.format(reason=reason))
