// The harness's bootstrap, shared by every runtime (Node driver, browser worker).
// It boots Pyodide, installs the wheels, unpacks the test tree and runs ONE
// in-runtime pytest session; every result leaves through `emit(jsonString)`.
// Runtime-specific code (how to load files, where events go) is passed in.

export const PROJECT_DIR = "/home/pyodide/project";
const INNER_DIR = "/tmp/pyodide_harness";

function jspiActive() {
  return typeof WebAssembly.Suspending === "function";
}

/**
 * @param {object} o
 * @param {Function} o.loadPyodide   pyodide.mjs's loadPyodide
 * @param {string} o.indexURL        where pyodide.asm.wasm & co live
 * @param {string[]} o.wheels        paths (Node) or URLs (browser) of every wheel to install
 * @param {Uint8Array} o.testArchive the test tree as a zip
 * @param {string} o.innerSource     pyodide_harness_inner.py
 * @param {object} o.options         options for the inner session (see the inner module)
 * @param {(s: string) => void} o.emit
 * @param {(s: string) => void} o.log     the runtime's own output (not protocol), as
 *                                      written: pieces of lines, newlines included
 * @param {object} o.environment      what the host records about this runtime
 * @param {(pyodide: any) => Promise<void>} [o.prepare] runtime-specific set-up after boot
 * @param {object} [o.env]            environment variables for Python
 * @param {(err: any) => void} [o.onFatal] called after a fatal error was reported
 * @param {Int32Array} [o.interruptBuffer] shared with whoever enforces timeouts: writing
 *                                      2 (SIGINT) interrupts the running test
 * @param {(timeoutMs: number) => string | undefined} [o.receive] the host's next command
 *                                      line (tests to run), waiting at most timeoutMs
 */
export async function runSession(o) {
  const emitEvent = (event) => o.emit(JSON.stringify(event));
  const asyncErrors = [];
  const t0 = performance.now();
  const pyodide = await o.loadPyodide({
    indexURL: o.indexURL,
    stdout: (line) => o.log(line + "\n"),
    stderr: (line) => o.log(line + "\n"),
    env: { HOME: "/home/pyodide", ...(o.env || {}) },
  });
  const tBoot = performance.now();
  // From here on the runtime's output is passed on as written, not line by line:
  // pytest flushes after each progress dot, and a batched handler would make one
  // callback (one message, in a browser) per dot.
  for (const set of [pyodide.setStdout, pyodide.setStderr]) {
    const decoder = new TextDecoder();
    set.call(pyodide, {
      write: (buffer) => {
        o.log(decoder.decode(buffer, { stream: true }));
        return buffer.length;
      },
    });
  }
  if (o.interruptBuffer) pyodide.setInterruptBuffer(o.interruptBuffer);
  // After a fatal error (a wasm trap, abort, os._exit in a browser) Pyodide can never
  // run again and the session's promise may never settle: say so at once, so the
  // host restarts the runtime instead of waiting for its watchdog.
  if (pyodide._api) {
    pyodide._api.on_fatal = (err) => {
      const status = err && err.status !== undefined ? ` (exit status ${err.status})` : "";
      emitEvent({
        event: "runtime_error",
        text: `Pyodide fatal error${status}: ${err}${err && err.stack ? "\n" + err.stack : ""}`,
      });
      if (o.onFatal) o.onFatal(err);
    };
  }
  if (o.prepare) await o.prepare(pyodide, asyncErrors);
  const installErrors = [];
  await pyodide.loadPackage(o.wheels, {
    messageCallback: () => {},
    errorCallback: (msg) => installErrors.push(msg),
    checkIntegrity: false,
  });
  const tInstall = performance.now();
  emitEvent({
    event: "runtime_ready",
    environment: {
      ...o.environment,
      pyodide_version: pyodide.version,
      jspi: String(jspiActive()),
    },
    boot_seconds: (tBoot - t0) / 1000,
    install_seconds: (tInstall - tBoot) / 1000,
  });
  if (installErrors.length) {
    emitEvent({ event: "install_failed", messages: installErrors });
    throw new Error("installing the wheels failed");
  }
  pyodide.FS.mkdirTree(PROJECT_DIR);
  pyodide.unpackArchive(o.testArchive, "zip", { extractDir: PROJECT_DIR });
  pyodide.FS.mkdirTree(INNER_DIR);
  pyodide.FS.writeFile(`${INNER_DIR}/pyodide_harness_inner.py`, o.innerSource);
  pyodide.registerJsModule("pyodide_harness_bridge", {
    emit: (s) => o.emit(s),
    takeAsyncErrors: () => (asyncErrors.length ? asyncErrors.splice(0, asyncErrors.length) : undefined),
    receive: (timeoutMs) => (o.receive ? o.receive(timeoutMs) : undefined),
  });
  const options = { ...o.options, rootdir: PROJECT_DIR };
  pyodide.globals.set("_harness_options", JSON.stringify(options));
  // runPythonAsync runs through JSPI where available, so tests may block on
  // promises (sockets in Node, pytest-asyncio's run_until_complete).
  const status = await pyodide.runPythonAsync(
    [
      "import sys",
      `sys.path.insert(0, ${JSON.stringify(INNER_DIR)})`,
      "import pyodide_harness_inner",
      "pyodide_harness_inner.main(_harness_options)",
    ].join("\n"),
  );
  return status;
}
