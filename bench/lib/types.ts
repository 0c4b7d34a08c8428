/** The shape of bench/results.json: every benchmark is a set of rows, each ours vs a baseline measured in the same run. */

export interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface Goal {
  op: '>=' | '<=';
  value: number;
  /** How the goal reads in the table, e.g. "≥ 0.8×". */
  text: string;
}

export interface Row {
  metric: string;
  unit: string;
  ours: Stats;
  baseline: Stats;
  /** ours.median / baseline.median unless `ratio_note` says otherwise. */
  ratio: number;
  ratio_note?: string;
  goal?: Goal;
  status: 'PASS' | 'MISS' | 'info';
}

export interface BenchResult {
  name: string;
  title: string;
  /** What "ours" and "baseline" are in this benchmark. */
  ours: string;
  baseline: string;
  rows: Row[];
  notes: string[];
  seconds: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  load_average: number[];
  memory_gib: number;
  node: string;
  python: string;
  torch: string;
  transformers: string;
  trl: string;
  bullmq: string;
  redis: string;
  os: string;
}

export interface Results {
  started_at: string;
  seconds: number;
  quick: boolean;
  machine: Machine;
  benchmarks: BenchResult[];
}

/** What each benchmark module exports. */
export interface Benchmark {
  name: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export interface BenchContext {
  quick: boolean;
  /** Repetitions per measured figure (≥ 5 in a full run). */
  reps: number;
  redisUrl: string;
  log(msg: string): void;
}
