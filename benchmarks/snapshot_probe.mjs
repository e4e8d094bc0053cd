// Probe for issue 6, item 4 (not used by the harness yet): can a Pyodide memory
// snapshot make a Node boot cheap?
//   node --experimental-wasm-stack-switching benchmarks/snapshot_probe.mjs BARE-JOB.json
// BARE-JOB.json is a bare-runner job the benchmark writes (scratch/bare-*-node.json).
// It prints the time of: a plain boot + install; making a snapshot right after a boot;
// restoring it + installing the same wheels, then importing pytest and running
// one line of Python.
// Seen on 2026-11-21, Node 24.19, Pyodide 314.0.7: a snapshot taken after loadPackage fails
// ("Unexpected hiwire entry"), and files written into the file system are not in the
// snapshot, so wheels must be installed after the restore.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { loadPyodide } = await import(pathToFileURL(job.indexURL + "pyodide.mjs").href);
const install = (py) => py.loadPackage(job.wheels, { messageCallback: () => {}, checkIntegrity: false });
const seconds = (t) => ((performance.now() - t) / 1000).toFixed(2);

let t = performance.now();
const plain = await loadPyodide({ indexURL: job.indexURL });
await install(plain);
console.log(`plain boot + install: ${seconds(t)} s`);

t = performance.now();
const maker = await loadPyodide({ indexURL: job.indexURL, _makeSnapshot: true });
const snapshot = maker.makeMemorySnapshot();
console.log(`boot + make snapshot (${(snapshot.length / 2 ** 20).toFixed(0)} MiB): ${seconds(t)} s`);

t = performance.now();
const restored = await loadPyodide({ indexURL: job.indexURL, _loadSnapshot: snapshot });
const restoreSeconds = seconds(t);
await install(restored);
console.log(`restore: ${restoreSeconds} s, restore + install: ${seconds(t)} s`);
console.log(`after restore: ${restored.runPython("import pytest, sys; f'pytest {pytest.__version__}, {len(sys.modules)} modules'")}`);
