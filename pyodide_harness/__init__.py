"""Run a WebAssembly wheel's own pytest suite inside Pyodide 314 (Chromium, Firefox, Node)."""

__version__ = "0.1.0"
