/** One measured figure: what, how much, and the target it is held to. */
export interface BenchRow {
  suite: string;
  metric: string;
  value: number | string;
  unit: string;
  target?: string | undefined;
  /** true = meets target, false = misses it, undefined = no target. */
  ok?: boolean | undefined;
  note?: string | undefined;
}

export interface BenchSuite {
  name: string;
  run: () => Promise<BenchRow[]>;
}
