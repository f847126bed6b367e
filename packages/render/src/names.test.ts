import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toDnsName } from './names.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('toDnsName', () => {
  it('joins and normalizes parts that fit', () => {
    // GIVEN parts with upper case, slashes and dots  WHEN joined  THEN a plain DNS label comes out
    expect(toDnsName(['Qwen/Qwen3-32B', 'vllm', 'h100_sxm'])).toBe('qwen-qwen3-32b-vllm-h100-sxm');
  });

  it('shortens long names with a stable 8-character hash', () => {
    // GIVEN a name longer than the Grove budget
    const parts = ['deepseek-r1-distill-llama-70b', 'sglang', 'gb200-sxm', 'long-context-variant'];
    // WHEN it is shortened to 36 characters
    const name = toDnsName(parts, 36);
    // THEN it fits, ends in a hash, and the same input gives the same name
    expect(name).toBe('deepseek-r1-distill-llama-7-5fa20f2d');
    expect(name.length).toBeLessThanOrEqual(36);
    expect(toDnsName(parts, 36)).toBe(name);
  });

  it('rejects input with no usable characters', () => {
    expect(() => toDnsName(['//', '__'])).toThrowErrorMatchingInlineSnapshot(`[RangeError: toDnsName: no usable characters in ["//","__"]]`);
  });

  it('always returns a DNS-1123 label within the limit (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 10, max: 63 }), (parts, max) => {
        fc.pre(parts.some((p) => /[a-z0-9]/i.test(p)));
        const name = toDnsName(parts, max);
        expect(name).toMatch(DNS_LABEL);
        expect(name.length).toBeLessThanOrEqual(max);
      }),
    );
  });

  it('never maps two different long inputs to the same name (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9-]{50,80}$/), fc.stringMatching(/^[a-z0-9-]{50,80}$/), (a, b) => {
        fc.pre(a !== b && /[a-z0-9]/.test(a) && /[a-z0-9]/.test(b));
        expect(toDnsName([a], 45)).not.toBe(toDnsName([b], 45));
      }),
    );
  });
});
