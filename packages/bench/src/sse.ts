/**
 * Incremental Server-Sent Events parser over raw Buffer chunks.
 *
 * Each dispatched event carries the timestamp of the chunk that held its *first byte* (AIPerf's rule): parsing
 * cost and the rest of the read are not charged to the token. Lines are scanned with `indexOf` on the Buffer;
 * a string is built only for `data:` payloads (JSON.parse needs one), and bytes are copied only when an event
 * spans two reads. Handles `\n`, `\r\n` line ends, comments (`:` keep-alives), `event:` names and multi-line data.
 */
export interface SseEvent {
  /** Event name from an `event:` line; '' when absent (the default `message`). */
  event: string;
  /** Data lines joined with '\n'. */
  data: string;
  /** Monotonic time (ns, run-relative) of the read that delivered the event's first byte. */
  t: number;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;

export class SseParser {
  private rest: Buffer | null = null;
  /** Time of the read that delivered `rest`'s first byte (only meaningful while rest or an event is pending). */
  private restT = 0;
  private eventT = -1;
  private eventName = '';
  private data: string | null = null;
  /** Bytes of incomplete line carried between reads; guards against a server that never sends a newline. */
  readonly maxLineBytes: number;
  private readonly onEvent: (ev: SseEvent) => void;

  constructor(onEvent: (ev: SseEvent) => void, options: { maxLineBytes?: number } = {}) {
    this.onEvent = onEvent;
    this.maxLineBytes = options.maxLineBytes ?? 16 * 1024 * 1024;
  }

  /** True when bytes of an unfinished event are buffered (a stream that ends here was cut mid-event). */
  get pending(): boolean {
    return this.rest !== null || this.data !== null || this.eventT >= 0;
  }

  /** Feeds one read; `t` is the monotonic receive time of this read. */
  push(chunk: Buffer, t: number): void {
    let buf = chunk;
    let lineT = t;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk]);
      lineT = this.restT;
      this.rest = null;
    }
    let start = 0;
    const len = buf.length;
    const restLen = len - chunk.length;
    while (start < len) {
      const nl = buf.indexOf(LF, start);
      if (nl === -1) break;
      let end = nl;
      if (end > start && buf[end - 1] === CR) end--;
      this.line(buf, start, end, lineT);
      start = nl + 1;
      // bytes after the carried-over part arrived with this read
      if (start >= restLen) lineT = t;
    }
    if (start < len) {
      if (len - start > this.maxLineBytes) throw new SseError(`SSE line longer than ${this.maxLineBytes} bytes`);
      // copy: the caller's chunk buffer may be reused after we return
      this.rest = Buffer.from(buf.subarray(start));
      this.restT = start >= restLen ? t : lineT;
    }
  }

  private line(buf: Buffer, start: number, end: number, t: number): void {
    if (start === end) {
      if (this.data !== null) this.dispatch();
      else {
        this.eventT = -1;
        this.eventName = '';
      }
      return;
    }
    if (buf[start] === COLON) return; // comment / keep-alive: not part of any event's timing
    if (this.eventT < 0) this.eventT = t;
    const colon = buf.indexOf(COLON, start);
    const fieldEnd = colon === -1 || colon > end ? end : colon;
    let valueStart = fieldEnd === end ? end : fieldEnd + 1;
    if (valueStart < end && buf[valueStart] === 0x20) valueStart++;
    const fieldLen = fieldEnd - start;
    // compare field names byte-wise: no string for the name
    if (fieldLen === 4 && buf[start] === 0x64 && buf[start + 1] === 0x61 && buf[start + 2] === 0x74 && buf[start + 3] === 0x61) {
      const value = buf.toString('utf8', valueStart, end);
      this.data = this.data === null ? value : `${this.data}\n${value}`;
    } else if (fieldLen === 5 && buf.toString('latin1', start, fieldEnd) === 'event') {
      this.eventName = buf.toString('utf8', valueStart, end);
    }
    // `id:` and `retry:` do not matter to a benchmark client
  }

  private dispatch(): void {
    const ev: SseEvent = { event: this.eventName, data: this.data ?? '', t: this.eventT };
    this.data = null;
    this.eventName = '';
    this.eventT = -1;
    this.onEvent(ev);
  }
}

export class SseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SseError';
  }
}
