"""The bare limit in a browser: ``python bare_browser.py JOB.json``.

A page and a module worker served from 127.0.0.1 with COOP/COEP headers (the
harness's ``Server``, used here only as a static file server), the browser
launched by Playwright exactly as the issue describes, the worker booting
Pyodide, installing the wheels by URL and calling pytest.main once. Marks from
the worker (JSON) are printed as ``bare: <JSON>`` lines, so the benchmark times
phases from outside the same way for the bare runners and for the harness.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Playwright, sync_playwright

from pyodide_harness.server import Server

HERE = Path(__file__).resolve().parent

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def launch(p: Playwright, browser: str) -> Browser:
    if browser == "chromium":
        return p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    if browser == "firefox":
        return p.firefox.launch(channel="moz-firefox", executable_path="/usr/bin/firefox-esr")
    raise SystemExit(f"unknown browser {browser!r}")


def main(job_file: str) -> int:
    job: dict[str, Any] = json.loads(Path(job_file).read_text(encoding="utf-8"))
    wheels = [Path(w) for w in job["wheels"]]
    files = {"tests.zip": Path(job["archive"]), "bare_inner.py": HERE / "bare_inner.py"}
    files.update({w.name: w for w in wheels})
    with Server(roots={"pyodide": Path(job["dist"]), "bench": HERE}, files=files) as server, \
            sync_playwright() as p:
        browser = launch(p, job["browser"])
        page = browser.new_page()
        page.expose_function("__benchMark", lambda s: print(f"bare: {s}", flush=True))
        page.goto(server.url("bench", "bare.html"))
        page.wait_for_function("window.__benchReady === true")
        spec = {
            "indexURL": server.url("pyodide", ""),
            "wheels": [server.url(w.name) for w in wheels],
            "archive": server.url("tests.zip"),
            "inner": server.url("bare_inner.py"),
            "root": job["root"],
            "paths": job["paths"],
        }
        result = page.evaluate("job => window.__benchRun(job)", spec)
        for line in result.get("tail", []):
            print(line)
        browser.close()
    return int(result.get("status", -1)) & 0xFF


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
