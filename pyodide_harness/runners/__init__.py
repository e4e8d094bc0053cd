"""Runtime registry: the name given to ``--pyodide-runtime`` -> the class that runs it."""

from __future__ import annotations

from .base import Runtime, RuntimeConfig, RuntimeFactory, RuntimeJob
from .chromium import ChromiumRuntime
from .firefox import FirefoxRuntime
from .node import NodeRuntime

RUNTIMES: dict[str, RuntimeFactory] = {
    "chromium": ChromiumRuntime,
    "firefox": FirefoxRuntime,
    "node": NodeRuntime,
}

__all__ = ["RUNTIMES", "Runtime", "RuntimeConfig", "RuntimeFactory", "RuntimeJob", "create"]


def create(name: str, config: RuntimeConfig) -> Runtime:
    """Instantiate the runtime called ``name``."""
    return RUNTIMES[name](config)
