"""What the browser runtimes share: Playwright, the local server, the page and its worker.

Pyodide runs in a module Web Worker of a page served by ``server.Server`` on
127.0.0.1 (cross-origin isolated, so ``SharedArrayBuffer`` exists). The page
relays the worker's protocol messages and output to the host through an
exposed binding, many lines at a time (see ``js/channel.mjs``). A browser module
(``chromium.py``, ``firefox.py``) only says how to find and launch its browser,
and with which OS sandbox.

What code under test may reach is set twice over: the server's
Content-Security-Policy for the sandbox mode (``server.CONTENT_SECURITY_POLICIES``)
confines the page and its worker to the harness's server, and the browser's own
OS sandbox confines the processes that run them. The run reports both
(``ENV_SANDBOX``, ``ENV_PAGE_CSP``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RuntimeStartError
from ..protocol import Crashed, Done, ProtocolError, RuntimeError_, decode
from ..server import Server
from .base import Emit, OutputTail, RuntimeConfig, RuntimeJob, Sandbox

JS_DIR = Path(__file__).resolve().parent.parent / "js"
BOOT_TIMEOUT_MS = 120_000
LOG_PREFIX = '{"log":'  # a line of the runtime's output, not a protocol message (channel.mjs)

BROWSER_NOT_FOUND = (
    "{browser} not found: {tried}. Install it with `python -m playwright install {browser}`, "
    "or the system package ({system_package}), or pass --pyodide-browser-path "
    "{browser}=/path/to/{browser}."
)
BROWSER_LAUNCH_FAILED = (
    "{browser} at {path} could not be launched: {error}. Install a working browser with "
    "`python -m playwright install {browser}` or the system package ({system_package}), or pass "
    "--pyodide-browser-path {browser}=PATH."
)


# Playwright's driver shares the host's process group, so a terminal's Ctrl-C reaches it
# too; by default it then closes every browser it launched and exits, which the host saw
# as a crash. Without ``handle_sigint`` the driver ignores SIGINT (its ``run-driver``
# mode does) and the browser, in a process group of its own, never gets it: only the
# host does, and it closes both (``Controller.close``).
LAUNCH_OPTIONS: Mapping[str, Any] = {"headless": True, "handle_sigint": False}

#: Environment keys every browser runtime reports in ``RuntimeReady``.
ENV_SANDBOX = "sandbox"  # the browser's OS sandbox: on, or off and why
ENV_PAGE_CSP = "page_csp"  # what the page and its worker may reach
PAGE_CSP: Mapping[Sandbox, str] = {
    "on": "harness server only",
    "network": "network allowed",
    "off": "off",
}


@dataclass(frozen=True)
class Launch:
    """How to launch one browser: Playwright's own build, or a system binary."""

    executable: Path | None  # None: Playwright-managed
    options: Mapping[str, Any]
    description: str


@dataclass(frozen=True)
class OsSandbox:
    """Launch options for one OS sandbox choice and what the run reports for it."""

    options: Mapping[str, Any]
    status: str


def first_existing(candidates: Sequence[str]) -> Path | None:
    """The first candidate that is an existing file or a command on PATH."""
    for candidate in candidates:
        if "/" in candidate:
            if Path(candidate).is_file():
                return Path(candidate)
        elif found := shutil.which(candidate):
            return Path(found)
    return None


class BrowserRuntime:
    """Base of the browser runtimes; subclasses set the names and ``launch_options``."""

    name = "browser"
    playwright_type = "chromium"
    system_candidates: tuple[str, ...] = ()
    system_package = ""

    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        self._playwright: Any = None
        self._browser: Any = None
        self._server: Server | None = None
        self._page: Any = None
        #: What this runtime reports about itself (set by ``run``; the worker adds more).
        self.environment: dict[str, str] = {}

    # -- launching ------------------------------------------------------------------------
    def choose_launch(self, managed_executable: str) -> Launch:
        """Explicit path > Playwright-managed build (if installed) > system browser."""
        explicit = self.config.browser_paths.get(self.name)
        if explicit is not None:
            if not explicit.is_file():
                raise RuntimeStartError(self._not_found(f"{explicit} (--pyodide-browser-path)"))
            return self.system_launch(explicit)
        if managed_executable and Path(managed_executable).is_file():
            return Launch(None, {}, f"Playwright's {self.name}")
        system = first_existing(self.system_candidates)
        if system is None:
            tried = [f"Playwright's {self.name} ({managed_executable or 'not installed'})",
                     *self.system_candidates]
            raise RuntimeStartError(self._not_found(", ".join(tried)))
        return self.system_launch(system)

    def system_launch(self, path: Path) -> Launch:
        raise NotImplementedError

    def os_sandbox(self) -> OsSandbox:
        """The OS sandbox to launch with (a subclass knows its browser's)."""
        raise NotImplementedError

    def sandbox_fallback(self, error: str) -> OsSandbox | None:
        """What to launch with when launching with ``os_sandbox()`` failed with ``error``.

        None (the default) when the failure is not the sandbox's: it is reported as is.
        """
        return None

    def _not_found(self, tried: str) -> str:
        return BROWSER_NOT_FOUND.format(browser=self.name, tried=tried,
                                        system_package=self.system_package)

    async def _launch(self) -> tuple[Any, str, str]:
        """Launch the browser; returns it, how it was found, and its OS sandbox status."""
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        browser_type = getattr(self._playwright, self.playwright_type)
        launch = self.choose_launch(browser_type.executable_path)
        self._browser, sandbox = await self.launch_browser(browser_type, launch)
        return self._browser, launch.description, sandbox

    async def launch_browser(self, browser_type: Any, launch: Launch) -> tuple[Any, str]:
        """Launch with the OS sandbox, or without it when it cannot start here; says which."""
        options = dict(launch.options)
        if launch.executable is not None:
            options["executable_path"] = str(launch.executable)
        sandbox = self.os_sandbox()
        try:
            browser = await browser_type.launch(**LAUNCH_OPTIONS, **options, **sandbox.options)
        except Exception as exc:
            fallback = self.sandbox_fallback(str(exc))
            if fallback is None:
                raise self._launch_failed(launch, exc) from exc
            sandbox = fallback
            try:
                browser = await browser_type.launch(**LAUNCH_OPTIONS, **options, **sandbox.options)
            except Exception as again:
                raise self._launch_failed(launch, again) from again
        return browser, sandbox.status

    def _launch_failed(self, launch: Launch, exc: Exception) -> RuntimeStartError:
        text = str(exc).strip()
        return RuntimeStartError(BROWSER_LAUNCH_FAILED.format(
            browser=self.name, path=launch.executable or "Playwright's build",
            error=text.splitlines()[0] if text else repr(exc),
            system_package=self.system_package))

    # -- running ----------------------------------------------------------------------------
    async def run(self, job: RuntimeJob, emit: Emit) -> None:
        browser, description, os_sandbox = await self._launch()
        files = {"tests.zip": job.archive, "pyodide_harness_inner.py": job.inner}
        files.update({w.name: w for w in job.wheels})
        self._server = server = Server(roots={"pyodide": job.distribution, "harness": JS_DIR},
                                       files=files, sandbox=self.config.sandbox)
        server.start()
        version = f"{self.name.capitalize()} {browser.version}"
        self.environment = {"runtime": self.name, "runtime_version": version,
                            "browser_launch": description, ENV_SANDBOX: os_sandbox,
                            ENV_PAGE_CSP: PAGE_CSP[self.config.sandbox]}
        spec = {
            "indexURL": server.url("pyodide", ""),
            "wheels": [server.url(w.name) for w in job.wheels],
            "archive": server.url("tests.zip"),
            "inner": server.url("pyodide_harness_inner.py"),
            "options": job.options.to_json(),
            "env": dict(job.env),
            "environment": self.environment,
        }
        finished = asyncio.Event()
        tail = OutputTail()

        def receive(_source: Any, lines: str) -> None:
            for message in lines.split("\n"):
                if message.startswith(LOG_PREFIX):  # {"log": text}: the runtime's output
                    tail.write(str(json.loads(message).get("log", "")))
                    continue
                try:
                    event = decode(message)
                except ProtocolError:
                    tail.line(message)
                    continue
                emit(event)
                if isinstance(event, Done | RuntimeError_):
                    finished.set()

        def crashed(reason: str) -> None:
            if not finished.is_set():
                emit(Crashed(reason=f"{self.name} {reason}", output=tail.text()))
                finished.set()

        context = await browser.new_context()
        self._page = page = await context.new_page()
        await page.expose_binding("__harnessEmit", receive)
        page.on("crash", lambda _p: crashed("page crashed"))
        page.on("pageerror", lambda err: tail.line(f"page error: {err}"))
        page.on("console", lambda msg: tail.line(f"console: {msg.text}"))
        browser.on("disconnected", lambda _b: crashed("browser disconnected"))
        await page.goto(server.url("harness", "harness.html"), timeout=BOOT_TIMEOUT_MS)
        await page.wait_for_function("typeof window.__harnessStart === 'function'")
        await page.evaluate("job => window.__harnessStart(job)", spec)
        await finished.wait()

    async def interrupt(self) -> bool:
        page = self._page
        if page is None:
            return False
        try:
            await asyncio.wait_for(page.evaluate("window.__harnessInterrupt()"), 10)
        except Exception:  # a page that cannot be reached cannot be interrupted
            return False
        return True

    async def send(self, command: str) -> bool:
        page = self._page
        if page is None:
            return False
        try:
            await page.evaluate("line => window.__harnessSend(line)", command)
        except Exception:  # a closed page: the runtime is gone
            return False
        return True

    async def close(self) -> None:
        self._page = None
        browser, self._browser = self._browser, None
        playwright, self._playwright = self._playwright, None
        server, self._server = self._server, None
        if browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), 30)
        if playwright is not None:
            with contextlib.suppress(Exception):
                await playwright.stop()
        if server is not None:
            server.close()
