// Module worker of the browser runtimes: fetches the job's files and runs the session.
import { runSession } from "./harness_core.mjs";

const log = (s) => postMessage({ log: s });

self.onmessage = async (e) => {
  const job = e.data;
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
      emit: (s) => postMessage(s),
      log,
      environment: { ...job.environment, user_agent: navigator.userAgent },
    });
  } catch (err) {
    postMessage(JSON.stringify({ event: "runtime_error", text: `${err && err.stack ? err.stack : err}` }));
  }
};
