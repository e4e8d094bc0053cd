// Node runtime driver: `node [--experimental-wasm-stack-switching] [--permission ...]
// node_driver.mjs JOB.json`, started by runners/node.py, which also decides what the
// sandbox lets the process read and write. Protocol events go to stdout, one JSON
// object per line, and nothing else does: the runtime's own output goes to stderr.
import { constants as fsConstants, readFileSync, writeSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { pathToFileURL } from "node:url";
import { runSession } from "./harness_core.mjs";
import { HostInput } from "./node_commands.mjs";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
// Written synchronously, never through process.stdout: while Python runs, Node's event
// loop is blocked, so a stream write larger than the pipe's buffer (the `collected`
// event of a big suite) would sit in Node's queue until the session ended, and the
// host would see no progress at all. A full non-blocking pipe (EAGAIN) is waited out.
const pause = new Int32Array(new SharedArrayBuffer(4));
function writeAll(fd, text) {
  const data = Buffer.from(text, "utf8");
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset, data.length - offset);
    } catch (err) {
      if (err.code !== "EAGAIN") throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
const out = (line) => writeAll(1, line + "\n");
const log = (text) => writeAll(2, text);
console.log = (...args) => log(args.join(" ") + "\n");
console.info = console.log;

let asyncErrors = null;
const pending = [];
// An error thrown from a JS callback (a socket's "error" event with no listener)
// must fail the test that caused it, not kill the process.
process.on("uncaughtException", (err) => {
  const text = `${err && err.stack ? err.stack : err}`;
  if (asyncErrors) asyncErrors.push(text);
  else pending.push(text);
});

// The host's commands on stdin (interrupts, tests to run): see node_commands.mjs.
const input = new HostInput(0);
input.watch();

// Emscripten's NODEFS reads open() flags at boot through the deprecated
// process.binding("constants"), which Node's permission model refuses outright;
// the same values are public as fs.constants and os.constants.
if (process.permission) {
  const binding = process.binding;
  process.binding = (name) =>
    name === "constants" ? { fs: fsConstants, os: osConstants } : binding.call(process, name);
}

const { loadPyodide } = await import(pathToFileURL(job.indexURL + "pyodide.mjs").href);
try {
  const status = await runSession({
    loadPyodide,
    indexURL: job.indexURL,
    wheels: job.wheels,
    testArchive: new Uint8Array(readFileSync(job.archive)),
    innerSource: readFileSync(job.inner, "utf8"),
    options: job.options,
    emit: out,
    log,
    env: job.env,
    interruptBuffer: input.signals,
    receive: (timeoutMs) => input.receive(timeoutMs),
    onFatal: () => process.exit(70),
    environment: {
      runtime: "node",
      runtime_version: `Node ${process.version}`,
      user_agent: `Node ${process.version} (${process.platform} ${process.arch})`,
      // What the host allowed (see runners/node.py), or "off" if the permission
      // model is not actually on, whatever the host asked for.
      sandbox: process.permission ? job.sandbox : "off",
    },
    prepare: async (pyodide, errors) => {
      asyncErrors = errors;
      errors.push(...pending.splice(0));
      // Pyodide's default stdin in Node reads fd 0, which carries the host's commands
      // and is no input for the suite; its flush is an fsync, which Node refuses
      // under the permission model. A test reading stdin gets an I/O error instead.
      pyodide.setStdin({ error: true });
      if (job.sockfs) await pyodide.useNodeSockFS();
    },
  });
  process.exitCode = typeof status === "number" ? status : 0;
} catch (err) {
  out(JSON.stringify({ event: "runtime_error", text: `${err && err.stack ? err.stack : err}` }));
  process.exitCode = 3;
}
