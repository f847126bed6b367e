import type { Cluster, ResolvedRecipe } from '@llm-recipes/recipe';

export type { ResolvedRecipe };

/** One engine config file of a recipe, path relative to the recipe directory (e.g. `engine/vllm.yaml`). */
export type EngineFile = ResolvedRecipe['engineFiles'][number];

export type DgdApiVersion = Cluster['dynamoApiVersion'];

export interface RenderOptions {
  /** Overrides the cluster profile's `dynamoApiVersion`. */
  apiVersion?: DgdApiVersion | undefined;
  /** Overrides the cluster profile's `engine`: `sim` puts the project simulator in place of the engines. */
  engine?: Engine | undefined;
}

/** What serves the models: the recipe's engines under Dynamo, or the project simulator (CPU-only). */
export type Engine = NonNullable<Cluster['engine']>;

/** A Kubernetes object as plain data. */
export type KubeObject = Record<string, unknown> & { apiVersion: string; kind: string };

/** One rendered object and the file it belongs in. */
export interface Manifest {
  /** `workload` objects are synced by GitOps; `benchmark` Jobs are applied on demand. */
  group: 'workload' | 'benchmark';
  /** File name inside the recipe's workloads/ or benchmarks/ directory. */
  file: string;
  object: KubeObject;
}

/** Everything one recipe renders to on one cluster, in a fixed order. */
export interface RenderedRecipe {
  /** Workload directory name (the resolved recipe's DNS base name). */
  name: string;
  /** metadata.name of the DynamoGraphDeployment (≤ the Grove budget, hash-suffixed when shortened). */
  dgdName: string;
  manifests: Manifest[];
  /** The engine files the workers read, by ConfigMap key, as the engine ConfigMap holds them (TensorRT-LLM: one per pool). */
  engineFiles: { key: string; content: string }[];
}
