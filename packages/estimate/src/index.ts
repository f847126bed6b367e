export {
  attentionDims,
  bytesPerElement,
  expertsTouched,
  kvBytesForSequence,
  kvBytesPerToken,
  kvBytesPerTokenLayer,
  paramCounts,
  peakTflops,
  weightBytes,
} from './facts.ts';
export type { ParamCounts, WeightBytes } from './facts.ts';
export { buildStepModel, correctionFor, defaultKvDtype, efficiencyFor, engineLimitsFor, gpuFamily, schedulingWith } from './step.ts';
export type { MemoryPlan, StepModel, StepModelInput } from './step.ts';
export { DEFAULT_REQUESTS_PER_SLOT, estimate, kvLinkGBs, packedPrefillMs, prefillMs, serveAgg, serveDisagg } from './serve.ts';
export type { EstimateInput, ServingResult } from './serve.ts';
export { dominates, meetsSla, paretoFront, search } from './search.ts';
export type { Candidate, RankedConfig, SearchInput, SearchResult, Sla } from './search.ts';
export { fnv1a, latencyCases, parseCsv, publishedCases, rowKey, splitOf } from './published.ts';
export type { CaseMetricName, MeasurementProtocol, PublishedCase, PublishedRow, SkippedRow } from './published.ts';
export { accuracyTable, allCases, bandSigma, bandTable, calibrationFile, caseMetric, crossValidate, fitCalibration, fitsCase, foldOf, groupAccuracy, mape, mapeByMetric, nelderMead, predictCase, priorCalibration, referenceGpu, sliceOf } from './fit.ts';
export type { AccuracyRow, CaseMetric, FitReport, FoldBy, FoldError, HeldOutPrediction, Priors } from './fit.ts';
export { estimateBand } from './band.ts';
export { CORRECTIONS_DIR, correctionFileName, correctionFileText, parseCorrection, readCorrections, refitCorrection, withCorrection, workspaceCalibration, writeCorrection } from './corrections.ts';
export type { CorrectionTarget, MeasuredServingPoint, RefitPoint } from './corrections.ts';
export type { BandBasis, EstimateBand } from './band.ts';
export { referenceGpus, referenceModels } from './reference.ts';
export type { ReferenceModel } from './reference.ts';
export { defaultCalibration, defaultPriors, latencyCsvUrl, publishedCsvUrl } from './calibration-data.ts';
export { estimatorSimulation, estimatorStepTimeModel, recipeDeployment } from './sim-seam.ts';
export type { EstimatorSimulation, EstimatorStepTimeModel, RecipeForEstimate, SimStepBatch } from './sim-seam.ts';
export type {
  Architecture,
  BackendCalibration,
  BandTable,
  Correction,
  Scheduling,
  SchedulingOverride,
  BackendName,
  Calibration,
  Deployment,
  Dtype,
  Efficiency,
  EngineLimits,
  Estimate,
  Gpu,
  Mode,
  Parallelism,
  Pool,
  StepBatch,
  StepTime,
  Workload,
} from './types.ts';
