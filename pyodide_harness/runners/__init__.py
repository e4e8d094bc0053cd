"""Runtime registry: the name given to ``--pyodide-runtime`` -> the class that runs it.

Entries name a module and a class, imported only when that runtime is used: the
registry is read by the plugin in every pytest run of an environment where the
harness is installed, and the browser modules bring asyncio, an HTTP server and
Playwright with them.
"""

from __future__ import annotations

import importlib

from .base import Runtime, RuntimeConfig, RuntimeFactory, RuntimeJob

RUNTIMES: dict[str, str] = {
    "chromium": "chromium:ChromiumRuntime",
    "firefox": "firefox:FirefoxRuntime",
    "node": "node:NodeRuntime",
}

__all__ = ["RUNTIMES", "Runtime", "RuntimeConfig", "RuntimeFactory", "RuntimeJob", "create",
           "factory"]


def factory(name: str) -> RuntimeFactory:
    """The class of the runtime called ``name`` (its module imported now)."""
    module, _, cls = RUNTIMES[name].partition(":")
    found: RuntimeFactory = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
    return found


def create(name: str, config: RuntimeConfig) -> Runtime:
    """Instantiate the runtime called ``name``."""
    return factory(name)(config)
