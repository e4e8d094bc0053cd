// The bare limit in a browser: a module worker that boots Pyodide, installs the wheels
// from the local server, unpacks the test tree and calls pytest.main once.
self.onmessage = async (e) => {
  const job = e.data;
  const mark = (s) => postMessage({ mark: s });
  const output = [];
  try {
    const { loadPyodide } = await import(job.indexURL + "pyodide.mjs");
    const [archive, inner] = await Promise.all([
      fetch(job.archive).then((r) => r.arrayBuffer()),
      fetch(job.inner).then((r) => r.text()),
    ]);
    const t0 = performance.now();
    const pyodide = await loadPyodide({
      indexURL: job.indexURL,
      env: { HOME: "/home/pyodide" },
      stdout: (s) => output.push(s),
      stderr: (s) => output.push(s),
    });
    const t1 = performance.now();
    await pyodide.loadPackage(job.wheels, { messageCallback: () => {}, checkIntegrity: false });
    const t2 = performance.now();
    mark(JSON.stringify({ mark: "installed", boot: (t1 - t0) / 1000, install: (t2 - t1) / 1000 }));
    pyodide.FS.mkdirTree(job.root);
    pyodide.unpackArchive(new Uint8Array(archive), "zip", { extractDir: job.root });
    pyodide.registerJsModule("bench_bridge", { mark });
    pyodide.globals.set("_bench_job", JSON.stringify(job));
    const status = await pyodide.runPythonAsync(`${inner}\nmain(_bench_job)`);
    mark(JSON.stringify({ mark: "done", status, seconds: (performance.now() - t2) / 1000 }));
    postMessage({ result: { status, tail: output.slice(-10) } });
  } catch (err) {
    postMessage({ result: { status: -1, tail: [...output.slice(-10), `${err && err.stack ? err.stack : err}`] } });
  }
};
