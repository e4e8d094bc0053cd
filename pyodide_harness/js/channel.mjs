// The runtimes' channels: a ring buffer of lines in a SharedArrayBuffer.
//
// Two directions use it. Browser worker -> page (events and output, below), and
// host -> in-runtime session (the tests to run with --pyodide-workers): there the
// page (browsers) or the stdin thread (Node) writes, and Python, which blocks its
// thread between tests, waits for a line with `ChannelReader.receive`.
//
// The worker writes every protocol message and every piece of the runtime's output
// into shared memory, as lines; the page drains it on a timer and hands the host
// whole lines, many at a time. This costs the worker a copy per message instead of a
// postMessage (a wake-up of the page's thread, a structured clone), and the page
// can still read what a worker stuck in a test loop wrote before it got stuck.
//
// Lines: a protocol message is JSON (never a raw newline in it); output is
// {"log": text}, also JSON. Single producer, single consumer; the header holds
// two byte counters (written, read) that wrap at 2**32.

const WRITTEN = 0;
const READ = 1;
const HEADER_BYTES = 8;

/** Shared memory for a channel of `capacity` bytes (made by the page). The capacity
 * is a power of two, so positions stay right when the counters wrap. */
export function createChannel(capacity = 4 * 1024 * 1024) {
  if (capacity & (capacity - 1)) throw new Error(`channel capacity ${capacity} is not a power of two`);
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

/** The worker's end: `write(line)` blocks only while the ring is full. */
export class ChannelWriter {
  constructor(buffer) {
    this.header = new Int32Array(buffer, 0, 2);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
    this.encoder = new TextEncoder();
  }

  write(line) {
    const bytes = this.encoder.encode(line + "\n");
    const capacity = this.data.length;
    let offset = 0;
    while (offset < bytes.length) {
      const written = Atomics.load(this.header, WRITTEN) >>> 0;
      const read = Atomics.load(this.header, READ) >>> 0;
      const free = capacity - ((written - read) >>> 0);
      if (free === 0) {
        // Full: wait for the page to drain (it wakes us), re-checking now and then.
        Atomics.wait(this.header, READ, read | 0, 50);
        continue;
      }
      const n = Math.min(free, bytes.length - offset);
      const at = written % capacity;
      const first = Math.min(n, capacity - at);
      this.data.set(bytes.subarray(offset, offset + first), at);
      if (n > first) this.data.set(bytes.subarray(offset + first, offset + n), 0);
      offset += n;
      Atomics.store(this.header, WRITTEN, (written + n) | 0);
      Atomics.notify(this.header, WRITTEN);
    }
  }
}

/** The page's end: `drain()` returns the complete lines written since the last call. */
export class ChannelReader {
  constructor(buffer) {
    this.header = new Int32Array(buffer, 0, 2);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
    this.decoder = new TextDecoder();
    this.partial = "";
    this.lines = [];
  }

  /** The next complete line, waiting for one at most `timeoutMs` (undefined: none
   * yet). Waits with Atomics.wait: only where blocking is allowed (workers, Node). */
  receive(timeoutMs) {
    if (!this.lines.length) {
      let text = this.drain();
      if (!text && timeoutMs > 0) {
        const written = Atomics.load(this.header, WRITTEN);
        // Returns at once if anything was written since the load above.
        Atomics.wait(this.header, WRITTEN, written, timeoutMs);
        text = this.drain();
      }
      if (text) this.lines.push(...text.split("\n"));
    }
    return this.lines.shift();
  }

  /** Everything complete, as one string of lines ("" when nothing is new). */
  drain() {
    const capacity = this.data.length;
    const written = Atomics.load(this.header, WRITTEN) >>> 0;
    const read = Atomics.load(this.header, READ) >>> 0;
    const n = (written - read) >>> 0;
    if (n === 0) return "";
    const at = read % capacity;
    const first = Math.min(n, capacity - at);
    // slice() copies into ordinary memory, which TextDecoder accepts (shared views it does not).
    const chunk = new Uint8Array(n);
    chunk.set(this.data.slice(at, at + first), 0);
    if (n > first) chunk.set(this.data.slice(0, n - first), first);
    Atomics.store(this.header, READ, (read + n) | 0);
    Atomics.notify(this.header, READ);
    const text = this.partial + this.decoder.decode(chunk, { stream: true });
    const end = text.lastIndexOf("\n");
    this.partial = text.slice(end + 1);
    return end < 0 ? "" : text.slice(0, end);
  }
}
