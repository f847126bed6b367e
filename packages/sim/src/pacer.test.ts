import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DELIVERY_EARLY_MS, DeliveryPacer } from './pacer.ts';
import { streamRequest, simulators } from './test-support.ts';
import { nowMs } from './clock.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DeliveryPacer', () => {
  it('hands out the lowest free slot and reuses closed ones', () => {
    const p = new DeliveryPacer(100);
    const [a, b, c] = [p.open(() => {}), p.open(() => {}), p.open(() => {})];
    expect([a.slot, b.slot, c.slot]).toEqual([0, 1, 2]);
    expect(c.offsetMs).toBeCloseTo(0.2, 12);
    p.close(b);
    p.close(a);
    expect(p.open(() => {}).slot).toBe(0);
    expect(p.open(() => {}).slot).toBe(1);
    expect(p.open(() => {}).slot).toBe(3);
  });

  it('delivers due payloads of an idle stream at once, in the caller', () => {
    const p = new DeliveryPacer(0);
    const got: string[] = [];
    const s = p.open((x) => got.push(x));
    p.push(s, nowMs() - 1, 'a');
    p.push(s, nowMs() - 1, 'b');
    expect(got).toEqual(['a', 'b']);
    expect(p.pending).toBe(0);
  });

  it('delivers each slot its offset after the step, and a closed stream nothing more', async () => {
    const p = new DeliveryPacer(3000); // 3 ms per slot
    const at: Record<string, number> = {};
    const streams = [0, 1, 2].map((i) => p.open((x, last) => (at[`${i}:${x}${last ? '!' : ''}`] = nowMs())));
    const t0 = nowMs() + 2;
    for (const s of streams) p.push(s, t0, 'tok');
    p.push(streams[2]!, t0, 'end', true);
    p.push(streams[2]!, t0, 'after-last'); // ignored: the stream closed with its last payload
    p.push(streams[1]!, t0 + 10, 'late');
    p.close(streams[1]!); // dropped before it was due
    await sleep(25);
    // stream 1's queued payloads went with its close
    expect(Object.keys(at).sort()).toEqual(['0:tok', '2:end!', '2:tok']);
    expect(at['0:tok']! - t0).toBeGreaterThanOrEqual(-DELIVERY_EARLY_MS);
    expect(at['2:tok']! - t0).toBeGreaterThanOrEqual(6 - DELIVERY_EARLY_MS);
    expect(at['2:end!']!).toBeGreaterThanOrEqual(at['2:tok']!);
    // the slot of the closed stream is free again
    expect(p.open(() => {}).slot).toBe(1);
    p.stop();
  });

  it('keeps every stream in push order and never delivers before its deadline, less the batching window (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 400 }),
        fc.array(fc.record({ stream: fc.nat(5), dt: fc.double({ min: -1, max: 3, noNaN: true }), close: fc.boolean() }), { maxLength: 40 }),
        async (paceUs, ops) => {
          const p = new DeliveryPacer(paceUs);
          const base = nowMs();
          const streams = Array.from({ length: 6 }, (_, i) => {
            const log: { n: number; t: number }[] = [];
            return { i, log, s: p.open((x) => log.push({ n: Number(x), t: nowMs() })), pushed: [] as { n: number; due: number }[], last: base, sealed: false };
          });
          ops.forEach((op, n) => {
            const st = streams[op.stream]!;
            if (st.sealed) return; // a stream takes nothing after its last payload
            st.last = Math.max(st.last, base + op.dt); // a stream's step ends never go backwards
            const isLast = op.close && n % 3 === 0;
            st.sealed = isLast;
            st.pushed.push({ n, due: st.last + st.s.offsetMs });
            p.push(st.s, st.last, String(n), isLast);
          });
          await sleep(6 + 6 * paceUs / 1000);
          for (const st of streams) {
            expect(st.log.map((e) => e.n)).toEqual(st.pushed.map((e) => e.n));
            st.log.forEach((e, k) => expect(e.t).toBeGreaterThanOrEqual(st.pushed[k]!.due - DELIVERY_EARLY_MS - 1e-6));
          }
          expect(p.pending).toBe(0);
          p.stop();
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('paced delivery on the wire', () => {
  const sim = simulators();

  it('offsets each stream by its slot while every inter-token gap stays the step time', async () => {
    // 100 ms steps, 15 ms per slot: wide enough that a loaded machine's event-loop stalls cannot merge two slots
    const s = await sim({ paceUs: 15_000, agg: { prefixCaching: false, step: { decodeBaseMs: 100, decodeMsPerSeq: 0, prefillOverheadMs: 0, prefillMsPerToken: 0 } } });
    const req = async () => {
      const t = performance.now();
      const r = await streamRequest(s.url, 'completions', { prompt: 'hello there', max_tokens: 5, ignore_eos: true });
      return { ...r, firstAt: t + r.ttftMs };
    };
    // a running stream holds slot 0 and keeps the engine stepping, so the next three are admitted by one step
    const first = req();
    await sleep(20);
    const results = await Promise.all([req(), req(), req()]);
    for (const r of [await first, ...results]) {
      expect(r.contentChunks).toBe(5);
      expect(r.sawDone).toBe(true);
      const sorted = [...r.itlMs].sort((a, b) => a - b);
      expect(sorted[Math.floor(sorted.length / 2)]!).toBeGreaterThan(95);
      expect(sorted[Math.floor(sorted.length / 2)]!).toBeLessThan(108);
    }
    // their first tokens leave one step end, one slot (15 ms) apart
    const at = results.map((r) => r.firstAt).sort((a, b) => a - b);
    for (const d of [at[1]! - at[0]!, at[2]! - at[1]!]) {
      expect(d).toBeGreaterThan(8);
      expect(d).toBeLessThan(22);
    }
  });
});
