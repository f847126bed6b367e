import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SseError, SseParser, type SseEvent } from './sse.ts';

function parseAll(parts: { bytes: Buffer; t: number }[]): SseEvent[] {
  const out: SseEvent[] = [];
  const p = new SseParser((e) => out.push(e));
  for (const part of parts) p.push(part.bytes, part.t);
  return out;
}

describe('SseParser', () => {
  it('parses data, event names, comments, CRLF and multi-line data', () => {
    const stream = ': keep-alive\n\ndata: {"a":1}\n\nevent: error\r\ndata: line1\r\ndata: line2\r\n\r\ndata:[DONE]\n\n';
    const events = parseAll([{ bytes: Buffer.from(stream), t: 5 }]);
    expect(events).toEqual([
      { event: '', data: '{"a":1}', t: 5 },
      { event: 'error', data: 'line1\nline2', t: 5 },
      { event: '', data: '[DONE]', t: 5 },
    ]);
  });

  it('stamps an event with the time of the read holding its first byte', () => {
    const events = parseAll([
      { bytes: Buffer.from('data: {"x":'), t: 100 },
      { bytes: Buffer.from('1}\n\ndata: {"y"'), t: 200 },
      { bytes: Buffer.from(':2}\n'), t: 300 },
      { bytes: Buffer.from('\n'), t: 400 },
    ]);
    expect(events.map((e) => [e.data, e.t])).toEqual([
      ['{"x":1}', 100],
      ['{"y":2}', 200],
    ]);
  });

  it('does not take a comment line as the start of the next event', () => {
    const events = parseAll([
      { bytes: Buffer.from(': ping\n'), t: 1 },
      { bytes: Buffer.from('data: a\n\n'), t: 2 },
    ]);
    expect(events).toEqual([{ event: '', data: 'a', t: 2 }]);
  });

  it('reports a pending partial event and rejects endless lines', () => {
    const p = new SseParser(() => {}, { maxLineBytes: 8 });
    p.push(Buffer.from('data: ab'), 1);
    expect(p.pending).toBe(true);
    expect(() => p.push(Buffer.from('cdefghijk'), 2)).toThrow(SseError);
  });

  it('yields the same events however the stream is split (multi-byte UTF-8 included)', () => {
    const payload = fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, ' ')), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(payload, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (datas, cuts, crlf) => {
        const nl = crlf ? '\r\n' : '\n';
        const bytes = Buffer.from(datas.map((d) => `data: ${JSON.stringify(d)}${nl}${nl}`).join(''));
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const parts: { bytes: Buffer; t: number }[] = [];
        let prev = 0;
        points.forEach((c, i) => {
          parts.push({ bytes: bytes.subarray(prev, c), t: i });
          prev = c;
        });
        parts.push({ bytes: bytes.subarray(prev), t: points.length });
        const events = parseAll(parts);
        expect(events.map((e) => JSON.parse(e.data))).toEqual(datas);
        // times never decrease and each is the read where the event began
        for (let i = 1; i < events.length; i++) expect(events[i]!.t).toBeGreaterThanOrEqual(events[i - 1]!.t);
      }),
    );
  });
});
