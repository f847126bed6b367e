import { bandSigma } from './fit.ts';
import type { ServingResult } from './serve.ts';
import { gpuFamily } from './step.ts';
import type { Architecture, BackendName, Calibration } from './types.ts';

/** Where a band's width comes from: held-out residuals of its slice, of its backend, the prior, or a local refit. */
export type BandBasis = 'slice' | 'backend' | 'prior' | 'corrected';

/** Central intervals (`coverage`, e.g. 0.9) around each figure of an estimate: log-normal, σ from held-out error. */
export interface EstimateBand {
  coverage: number;
  ttftMs: [number, number];
  itlMs: [number, number];
  tpotMs: [number, number];
  tokensPerSecondPerUser: [number, number];
  tokensPerSecondPerGpu: [number, number];
  outputTokensPerSecond: [number, number];
  basis: { ttft: BandBasis; tpot: BandBasis; throughput: BandBasis };
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 on erf), for the coverage a z stands for. */
function phi(z: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(z) / Math.SQRT2));
  const y = 1 - (((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t) * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

/**
 * The uncertainty band of an estimate: `[x·e^(−zσ), x·e^(zσ)]` per figure, σ of ln(measured/predicted) from the
 * committed calibration's held-out residuals for this backend × GPU family × model family (falling back to the
 * backend, then to the prior for backends with no held-out measurement). A committed `recipes calibrate` correction
 * for this GPU × backend narrows it to the refit's own residual error when that is smaller.
 */
export function estimateBand(r: ServingResult, q: { backend: BackendName; gpuId: string; arch: Architecture }, calibration: Calibration): EstimateBand | undefined {
  if (!r.fits) return undefined;
  const z = calibration.bands?.z ?? 1.645;
  const base = { backend: q.backend, gpuFamily: gpuFamily(calibration, q.gpuId), modelFamily: q.arch.family };
  const corr = calibration.corrections?.[`${q.gpuId}/${q.backend}`];
  const pick = (metric: 'ttft' | 'tpot' | 'throughput'): { sigma: number; from: BandBasis } => {
    const s = bandSigma(calibration.bands, { ...base, metric });
    if (corr && corr.points >= 3) {
      const pct = metric === 'ttft' ? corr.after.ttftPct : corr.after.tpotPct;
      const local = Math.max(0.05, (pct / 100) * 1.25);
      if (local < s.sigma) return { sigma: local, from: 'corrected' };
    }
    return s;
  };
  const ttft = pick('ttft');
  const tpot = pick('tpot');
  const thr = pick('throughput');
  // log-symmetric, so a rate's band (1000/TPOT) is the inverse of its latency's band with the same σ
  const iv = (x: number, s: number): [number, number] => [x * Math.exp(-z * s), x * Math.exp(z * s)];
  return {
    coverage: Number((2 * phi(z) - 1).toFixed(3)),
    ttftMs: iv(r.ttftMs, ttft.sigma),
    itlMs: iv(r.itlMs, tpot.sigma),
    tpotMs: iv(r.tpotMs, tpot.sigma),
    tokensPerSecondPerUser: iv(r.tokensPerSecondPerUser, tpot.sigma),
    tokensPerSecondPerGpu: iv(r.tokensPerSecondPerGpu, thr.sigma),
    outputTokensPerSecond: iv(r.outputTokensPerSecond, thr.sigma),
    basis: { ttft: ttft.from, tpot: tpot.from, throughput: thr.from },
  };
}
