/** One broken security property of a GitHub Actions workflow. */
export interface WorkflowFinding {
  rule: 'pinned-actions' | 'pr-target-checkout' | 'fork-gate' | 'write-permissions' | 'top-level-permissions' | 'persist-credentials';
  job?: string | undefined;
  message: string;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const SAME_REPO = /github\.event\.pull_request\.head\.repo\.full_name\s*==\s*github\.repository/;

function triggers(wf: Json): string[] {
  const on = wf.on ?? wf.true; // YAML 1.1 parsers read a bare `on` key as boolean true
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on.map(String);
  return Object.keys(obj(on));
}

function writes(perms: unknown): string[] {
  if (perms === 'write-all') return ['*'];
  return Object.entries(obj(perms)).filter(([, v]) => v === 'write').map(([k]) => k);
}

function isSelfHosted(runsOn: unknown): boolean {
  const labels = Array.isArray(runsOn) ? runsOn.map(String) : typeof runsOn === 'string' ? [runsOn] : Object.values(obj(runsOn)).flat().map(String);
  return labels.some((l) => l.includes('self-hosted'));
}

/**
 * Security properties the PR loop relies on, checked on a parsed workflow:
 * every `uses:` pinned to a full commit SHA; no `pull_request_target` job that checks out PR code; on
 * pull_request triggers, self-hosted jobs gated on the head repository being this repository and never given
 * write permissions; the workflow-level token read-only; write permissions only on the jobs `writers` names.
 */
export function auditWorkflow(wf: Json, writers: readonly string[]): WorkflowFinding[] {
  const out: WorkflowFinding[] = [];
  const on = triggers(wf);
  const prTarget = on.includes('pull_request_target');
  if (writes(wf.permissions).length > 0 || wf.permissions === undefined) {
    out.push({ rule: 'top-level-permissions', message: 'the workflow-level token must be read-only: set `permissions:` to `contents: read` (or {}) and grant writes per job' });
  }
  for (const [name, raw] of Object.entries(obj(wf.jobs))) {
    const job = obj(raw);
    const steps = Array.isArray(job.steps) ? job.steps.map(obj) : [];
    const uses = [...steps.map((s) => s.uses), job.uses].filter((u): u is string => typeof u === 'string');
    for (const u of uses) {
      if (u.startsWith('./') || u.startsWith('docker://')) continue;
      if (!/@[0-9a-f]{40}$/.test(u)) out.push({ rule: 'pinned-actions', job: name, message: `${u} is not pinned to a full commit SHA` });
    }
    const w = writes(job.permissions);
    if (w.length > 0 && !writers.includes(name)) out.push({ rule: 'write-permissions', job: name, message: `job ${name} has write permissions (${w.join(', ')}) but is not an allowed writer` });
    if (prTarget) {
      for (const s of steps) {
        const ref = String(obj(s.with).ref ?? '');
        if (String(s.uses ?? '').startsWith('actions/checkout') && /pull_request\.head|github\.head_ref|refs\/pull\//.test(ref)) {
          out.push({ rule: 'pr-target-checkout', job: name, message: `job ${name} checks out PR code (${ref}) under pull_request_target` });
        }
      }
    }
    if (isSelfHosted(job['runs-on'])) {
      if ((on.includes('pull_request') || prTarget) && !SAME_REPO.test(String(job.if ?? ''))) {
        out.push({ rule: 'fork-gate', job: name, message: `self-hosted job ${name} must be gated with if: github.event.pull_request.head.repo.full_name == github.repository` });
      }
      if (w.length > 0) out.push({ rule: 'write-permissions', job: name, message: `self-hosted job ${name} must not hold write permissions` });
      for (const s of steps) {
        if (String(s.uses ?? '').startsWith('actions/checkout') && obj(s.with)['persist-credentials'] !== false) {
          out.push({ rule: 'persist-credentials', job: name, message: `self-hosted job ${name}: checkout must set persist-credentials: false (no token left on the runner)` });
        }
      }
    }
  }
  return out;
}
