// The Node driver's command thread. Python blocks the main thread while a test
// runs, so the host's commands on stdin are read here, one per line:
// "interrupt" writes SIGINT into Pyodide's interrupt buffer; any other line (the
// tests to run, with --pyodide-workers) goes into the inbox channel, where Python
// waits for it between tests. End of input (the host died) ends the process, so
// nothing is orphaned.
import net from "node:net";
import { workerData } from "node:worker_threads";
import { ChannelWriter } from "./channel.mjs";

const interruptBuffer = workerData.interruptBuffer;
const inbox = new ChannelWriter(workerData.inbox);
// An async pipe handle, never a blocking read: a thread blocked in a read could
// not be stopped and would keep the process from exiting.
const input = new net.Socket({ fd: 0, readable: true, writable: false });
input.setEncoding("utf8");
let partial = "";
input.on("data", (chunk) => {
  const lines = (partial + chunk).split("\n");
  partial = lines.pop();
  for (const line of lines) {
    if (line === "interrupt") Atomics.store(interruptBuffer, 0, 2);
    else if (line) inbox.write(line);
  }
});
input.on("end", () => process.kill(process.pid, "SIGKILL"));
input.on("error", () => process.kill(process.pid, "SIGKILL"));
