import { describe, expect, it } from 'vitest';
import { CheckFailedError, ExitCode, formatIssue, formatPath, InvalidInputError, UserError } from './index.ts';

describe('formatPath', () => {
  it('joins keys with dots and indexes with brackets', () => {
    expect(formatPath(['topology', 'prefill', 'args', 0, 'name'])).toBe('topology.prefill.args[0].name');
    expect(formatPath([0, 'a'])).toBe('[0].a');
    expect(formatPath([])).toBe('');
  });
});

describe('formatIssue', () => {
  it('prints file:line:col, the message, the field and the hint', () => {
    expect(
      formatIssue({ code: 'X', file: 'recipes/a/recipe.yaml', line: 3, col: 5, path: ['gpu'], message: 'unknown GPU "h100-sxn"', hint: 'did you mean "h100_sxm"?' }),
    ).toMatchInlineSnapshot(`"recipes/a/recipe.yaml:3:5 ✖ unknown GPU "h100-sxn" → at gpu — hint: did you mean "h100_sxm"?"`);
  });

  it('marks warnings and omits what it does not know', () => {
    expect(formatIssue({ code: 'W', file: 'f.yaml', path: [], message: 'deprecated', severity: 'warning' })).toBe('f.yaml ⚠ deprecated');
  });
});

describe('errors', () => {
  it('carry code, hint and exit code; check failures exit 1, usage errors 2', () => {
    const usage = new UserError('BAD_FLAG', 'bad flag', { hint: 'use --x' });
    expect([usage.name, usage.code, usage.hint, usage.exitCode]).toEqual(['UserError', 'BAD_FLAG', 'use --x', ExitCode.Usage]);
    const check = new CheckFailedError('DRIFT', 'clusters/ is stale');
    expect([check.name, check.exitCode, check instanceof UserError]).toEqual(['CheckFailedError', ExitCode.CheckFailed, true]);
  });

  it('InvalidInputError lists every issue and counts only errors', () => {
    const err = new InvalidInputError([
      { code: 'A', file: 'a.yaml', line: 1, col: 1, path: ['x'], message: 'first' },
      { code: 'B', file: 'b.yaml', path: [], message: 'just a warning', severity: 'warning' },
      { code: 'C', file: 'c.yaml', line: 9, col: 2, path: ['y', 0], message: 'second' },
    ]);
    expect(err.issues).toHaveLength(3);
    expect(err.message).toMatchInlineSnapshot(`
      "2 problems found:
        a.yaml:1:1 ✖ first → at x
        b.yaml ⚠ just a warning
        c.yaml:9:2 ✖ second → at y[0]"
    `);
  });
});
