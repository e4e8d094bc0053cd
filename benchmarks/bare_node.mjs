// The bare limit in Node: boot Pyodide, install the wheels from local files, unpack
// the test tree, call pytest.main once. No harness code is involved.
//   node --experimental-wasm-stack-switching bare_node.mjs JOB.json
// Marks on stdout ("bare: <JSON>") let the benchmark time the phases from outside.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
// A mark starts a line of its own: pytest leaves its rows of dots unterminated.
const mark = (s) => process.stdout.write(`\nbare: ${s}\n`);

const { loadPyodide } = await import(pathToFileURL(job.indexURL + "pyodide.mjs").href);
const archive = new Uint8Array(readFileSync(job.archive));
const inner = readFileSync(job.inner, "utf8");
const t0 = performance.now();
const pyodide = await loadPyodide({ indexURL: job.indexURL, env: { HOME: "/home/pyodide" } });
const t1 = performance.now();
await pyodide.loadPackage(job.wheels, { messageCallback: () => {}, checkIntegrity: false });
const t2 = performance.now();
mark(JSON.stringify({ mark: "installed", boot: (t1 - t0) / 1000, install: (t2 - t1) / 1000 }));
pyodide.FS.mkdirTree(job.root);
pyodide.unpackArchive(archive, "zip", { extractDir: job.root });
pyodide.registerJsModule("bench_bridge", { mark });
pyodide.globals.set("_bench_job", JSON.stringify(job));
const status = await pyodide.runPythonAsync(`${inner}\nmain(_bench_job)`);
mark(JSON.stringify({ mark: "done", status, seconds: (performance.now() - t2) / 1000 }));
process.exitCode = status;
