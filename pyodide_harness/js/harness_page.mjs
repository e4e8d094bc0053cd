// The harness page's script: a file of its own, not inline, because the page's
// Content-Security-Policy (server.py) runs scripts from the harness's server only.
//
// The page only relays: Pyodide runs in a module worker, as real applications
// run it. The worker writes its protocol messages and output into a shared-memory
// channel; the page drains it every 25 ms and hands the host the lines, as one
// string, through one exposed binding.
import { ChannelReader, ChannelWriter, createChannel } from "./channel.mjs";

const DRAIN_MS = 25;
// Timeouts: the host writes SIGINT (2) here; the worker's Pyodide checks it.
const interruptBuffer = new Int32Array(new SharedArrayBuffer(4));
window.__harnessInterrupt = () => Atomics.store(interruptBuffer, 0, 2);
// The host's commands for the session (tests to run), read by the worker between tests.
const inbox = createChannel(1024 * 1024);
const inboxWriter = new ChannelWriter(inbox);
window.__harnessSend = (line) => inboxWriter.write(line);
window.__harnessStart = (job) => {
  const buffer = createChannel();
  const reader = new ChannelReader(buffer);
  const drain = () => {
    const lines = reader.drain();
    if (lines) window.__harnessEmit(lines);
  };
  setInterval(drain, DRAIN_MS);
  const worker = new Worker(new URL("./browser_worker.mjs", import.meta.url), { type: "module" });
  worker.onerror = (e) => {
    drain();
    window.__harnessEmit(JSON.stringify(
      { event: "runtime_error", text: `worker error: ${e.message} (${e.filename}:${e.lineno})` }));
  };
  worker.postMessage({ ...job, interruptBuffer, channel: buffer, inbox });
};
