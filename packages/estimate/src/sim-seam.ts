import { kvBytesPerToken } from './facts.ts';
import { buildStepModel, type StepModelInput } from './step.ts';

/** The simulator's step batch (structurally the same as its StepBatch; this package does not depend on the simulator). */
export interface SimStepBatch {
  prefillTokens: number;
  prefillSeqs: number;
  decodeSeqs: number;
  decodeContextTokens: number;
  prefillContextTokens: number;
}

/** What the simulator's step-time seam asks for: a step duration, KV size per token and a worker's KV capacity. */
export interface EstimatorStepTimeModel {
  stepMs(batch: SimStepBatch): number;
  readonly kvBytesPerToken: number;
  readonly kvCapacityTokens: number;
}

/**
 * Builds the simulator's step-time model from the calibrated estimator, so a simulated deployment behaves like the
 * estimate. One model per worker (replica) with the given parallelism.
 */
export function estimatorStepTimeModel(input: StepModelInput): EstimatorStepTimeModel {
  const m = buildStepModel(input);
  const perToken = kvBytesPerToken(input.arch, m.kvDtype);
  // Capacity in tokens at long context: sequences of 1k tokens × 1k, replication included.
  const capacity = m.capacitySequences(1024) * 1024;
  return {
    kvBytesPerToken: perToken,
    kvCapacityTokens: capacity,
    stepMs(b: SimStepBatch): number {
      const seqs = Math.max(1, b.prefillSeqs);
      // Σ over prompt tokens of keys attended: each chunk of c after a prefix p adds c·p + c²/2.
      const attended = (b.prefillTokens * b.prefillContextTokens) / seqs + (b.prefillTokens * b.prefillTokens) / (2 * seqs);
      return m.step({ prefillTokens: b.prefillTokens, prefillAttended: attended, decodeSequences: b.decodeSeqs, contextTokens: b.decodeContextTokens }).totalMs;
    },
  };
}
