// The bare runner's page: start the bare worker, relay its marks to the Python side,
// resolve with its result. A file of its own, not an inline script: the server's
// Content-Security-Policy (the harness's, sandbox "on") lets scripts load only from it.
window.__benchRun = (job) => new Promise((resolve) => {
  const worker = new Worker(new URL("./bare_worker.mjs", import.meta.url), { type: "module" });
  worker.onmessage = (e) => {
    if (e.data.mark !== undefined) window.__benchMark(e.data.mark);
    else if (e.data.result !== undefined) resolve(e.data.result);
  };
  worker.onerror = (e) => resolve({ status: -1, tail: [`worker error: ${e.message}`] });
  worker.postMessage(job);
});
window.__benchReady = true;
