"""Errors that stop a run before or while runtimes boot.

Each error carries the exit status pytest would use, so the plugin and the CLI
can both turn it into the right process exit code without knowing its kind.
"""

from __future__ import annotations

# pytest's exit statuses, kept here so modules that do not import pytest can use them.
EXIT_OK = 0
EXIT_TESTSFAILED = 1
EXIT_INTERRUPTED = 2
EXIT_INTERNALERROR = 3
EXIT_USAGEERROR = 4
EXIT_NOTESTSCOLLECTED = 5


class HarnessError(Exception):
    """A failure the user can fix; the message says what, where from, and the fix."""

    exit_code: int = EXIT_USAGEERROR


class WheelError(HarnessError):
    """A wheel given to --pyodide-wheel cannot be used by Pyodide."""


class DistributionError(HarnessError):
    """The Pyodide distribution could not be obtained or is incomplete."""


class DependencyError(HarnessError):
    """A requirement has no wheel Pyodide can install."""


class RuntimeStartError(HarnessError):
    """A runtime (Node, Chromium, Firefox) could not be found or launched."""

    exit_code = EXIT_INTERNALERROR
