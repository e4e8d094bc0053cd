// Module worker of the browser runtimes: fetches the job's files and runs the session.
// Everything it says (protocol messages, the runtime's output) goes through the
// shared-memory channel the page made (see channel.mjs), in order.
import { ChannelReader, ChannelWriter } from "./channel.mjs";
import { runSession } from "./harness_core.mjs";

self.onmessage = async (e) => {
  const job = e.data;
  const channel = new ChannelWriter(job.channel);
  const emit = (message) => channel.write(message);
  const log = (text) => channel.write(JSON.stringify({ log: text }));
  const inbox = new ChannelReader(job.inbox); // the host's commands, written by the page
  try {
    const { loadPyodide } = await import(job.indexURL + "pyodide.mjs");
    const [archive, innerSource] = await Promise.all([
      fetch(job.archive).then((r) => r.arrayBuffer()),
      fetch(job.inner).then((r) => r.text()),
    ]);
    await runSession({
      loadPyodide,
      indexURL: job.indexURL,
      wheels: job.wheels,
      testArchive: new Uint8Array(archive),
      innerSource,
      options: job.options,
      env: job.env,
      interruptBuffer: job.interruptBuffer,
      receive: (timeoutMs) => inbox.receive(timeoutMs),
      emit,
      log,
      environment: { ...job.environment, user_agent: navigator.userAgent },
    });
  } catch (err) {
    emit(JSON.stringify({ event: "runtime_error", text: `${err && err.stack ? err.stack : err}` }));
  }
};
