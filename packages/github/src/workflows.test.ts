import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { auditWorkflow } from './workflow-audit.ts';

// @action-validator/core embeds the schemastore github-workflow JSON Schema (WASM, runs offline)
const { validateWorkflow } = createRequire(import.meta.url)('@action-validator/core') as {
  validateWorkflow: (src: string) => { errors: unknown[] };
};

const DIR = path.resolve(import.meta.dirname, '../../../.github/workflows');
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const load = (f: string): Record<string, unknown> => parse(readFileSync(path.join(DIR, f), 'utf8')) as Record<string, unknown>;

describe('.github/workflows', () => {
  it('holds the PR-loop workflows', () => {
    expect(files).toEqual(expect.arrayContaining(['ci.yml', 'profile.yml', 'promote.yml']));
  });

  it.each(files)('%s passes the GitHub workflow schema', (f) => {
    expect(validateWorkflow(readFileSync(path.join(DIR, f), 'utf8')).errors).toEqual([]);
  });

  it('the schema check catches a malformed workflow', () => {
    expect(validateWorkflow('on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n').errors.length).toBeGreaterThan(0);
  });

  it('profile.yml: forks gated, only the commenting job writes, no pull_request_target', () => {
    const wf = load('profile.yml');
    expect(Object.keys(wf.on as object)).toEqual(['pull_request']);
    expect(auditWorkflow(wf, ['report'])).toEqual([]);
    const jobs = wf.jobs as Record<string, Record<string, unknown>>;
    expect(jobs.report!.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    expect(jobs.profile!['runs-on']).toEqual(['self-hosted', 'linux', '${{ matrix.gpu }}']);
    // concurrency per PR (and label)
    expect(String((wf.concurrency as { group: string }).group)).toContain('github.event.pull_request.number');
    // the GPU job runs the same script as the local rehearsal
    const steps = jobs.profile!.steps as { run?: string }[];
    expect(steps.some((s) => s.run?.includes('recipes ci profile --engine cluster'))).toBe(true);
  });

  it('promote.yml: writes only in the promote job, which checks out the default branch, never PR code', () => {
    const wf = load('promote.yml');
    expect(Object.keys(wf.on as object)).not.toContain('pull_request_target');
    expect(auditWorkflow(wf, ['promote'])).toEqual([]);
    const steps = (wf.jobs as Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }>).promote!.steps;
    const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout'))!;
    expect(checkout.with!.ref).toBe('${{ github.event.repository.default_branch }}');
  });

  it.each(files)('%s: every action pinned to a commit SHA, workflow token read-only', (f) => {
    const findings = auditWorkflow(load(f), ['report', 'promote']);
    expect(findings.filter((x) => x.rule === 'pinned-actions' || x.rule === 'top-level-permissions')).toEqual([]);
  });
});

describe('auditWorkflow catches what it guards against', () => {
  const bad = parse(`
on:
  pull_request_target:
permissions: write-all
jobs:
  gpu:
    runs-on: [self-hosted, linux, h100_sxm]
    permissions: { contents: write }
    steps:
      - uses: actions/checkout@v5
        with: { ref: "\${{ github.event.pull_request.head.sha }}" }
  comment:
    runs-on: ubuntu-latest
    permissions: { pull-requests: write }
    steps: [{ run: echo }]
`) as Record<string, unknown>;

  it('reports every broken property', () => {
    const rules = auditWorkflow(bad, ['comment']).map((f) => `${f.rule}:${f.job ?? ''}`).sort();
    expect(rules).toEqual([
      'fork-gate:gpu',
      'persist-credentials:gpu',
      'pinned-actions:gpu',
      'pr-target-checkout:gpu',
      'top-level-permissions:',
      'write-permissions:gpu',
      'write-permissions:gpu',
    ]);
  });

  it('a write permission on a job that is not an allowed writer is reported', () => {
    expect(auditWorkflow(bad, []).some((f) => f.rule === 'write-permissions' && f.job === 'comment')).toBe(true);
  });
});
