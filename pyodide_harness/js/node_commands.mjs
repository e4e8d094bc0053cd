// The host's commands to the Node driver, one per line on stdin, read on the main thread.
//
// "interrupt" asks the running test to stop (SIGINT in Pyodide); any other line (the
// tests to run, with --pyodide-workers) waits here until Python, between tests, asks
// for it with receive(); end of input (the host died) ends the process, so nothing is
// orphaned.
//
// Python blocks Node's main thread while a test runs, so the event loop cannot read
// stdin then. No worker thread reads it either: under the sandbox no worker may start,
// because a worker given `execArgv: []` runs without the permission model. Instead,
// `signals` stands in for Pyodide's interrupt buffer, and whenever Python's eval loop
// looks at it (many times a second while Python runs) it reads, at most every POLL_MS,
// whatever the host wrote. The host makes stdin non-blocking, so a read that finds
// nothing returns at once. While the event loop runs (boot, install, a test awaiting a
// promise) a timer reads too.
import { readSync } from "node:fs";

const SIGINT = 2;
const POLL_MS = 10; // at most this often from Python's interrupt checks
const IDLE_POLL_MS = 50; // from the event loop, when Python does not run
const RECEIVE_POLL_MS = 2; // while Python waits for the next command

export class HostInput {
  constructor(fd = 0) {
    this.fd = fd;
    this.buffer = Buffer.alloc(64 * 1024);
    this.decoder = new TextDecoder();
    this.partial = "";
    this.lines = [];
    this.pending = 0; // the signal Pyodide reads next (0: none)
    this.checks = 0;
    this.lastPoll = 0;
    this.sleeper = new Int32Array(new SharedArrayBuffer(4));
    const input = this;
    // What Pyodide's setInterruptBuffer is given: Pyodide reads [0] to learn of a
    // signal and writes 0 once it has handled it.
    this.signals = {
      get 0() {
        // Cheap on most calls: the clock is read on one check in 16.
        if (!input.pending && (++input.checks & 15) === 0) {
          const now = performance.now();
          if (now - input.lastPoll >= POLL_MS) {
            input.lastPoll = now;
            input.poll();
          }
        }
        return input.pending;
      },
      set 0(value) {
        input.pending = value;
      },
    };
  }

  /** Read everything the host wrote so far, without blocking. */
  poll() {
    for (;;) {
      let n;
      try {
        n = readSync(this.fd, this.buffer, 0, this.buffer.length, null);
      } catch (err) {
        if (err.code === "EAGAIN" || err.code === "EWOULDBLOCK") return;
        n = 0; // stdin unusable: the host is gone as far as we can tell
      }
      if (n === 0) {
        process.kill(process.pid, "SIGKILL");
        return;
      }
      const lines = (this.partial + this.decoder.decode(this.buffer.subarray(0, n), { stream: true }))
        .split("\n");
      this.partial = lines.pop();
      for (const line of lines) {
        if (line === "interrupt") this.pending = SIGINT;
        else if (line) this.lines.push(line);
      }
      if (n < this.buffer.length) return;
    }
  }

  /** The host's next command line, waiting at most `timeoutMs` (undefined: none yet). */
  receive(timeoutMs) {
    this.poll();
    const deadline = performance.now() + timeoutMs;
    for (let left = timeoutMs; !this.lines.length && left > 0; left = deadline - performance.now()) {
      Atomics.wait(this.sleeper, 0, 0, Math.min(RECEIVE_POLL_MS, left));
      this.poll();
    }
    return this.lines.shift();
  }

  /** Read from the event loop too, while Python does not run; never keeps Node alive. */
  watch() {
    setInterval(() => this.poll(), IDLE_POLL_MS).unref();
  }
}
