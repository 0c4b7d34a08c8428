/**
 * The report's input (`results.json`) from a small fabricated run directory: rows exactly as
 * `roundResults`, the markdown rendered from them, the policy's margin curves, and the hook that
 * hands the file to the `report` stage. The Python side reads the same document from
 * workers/tests/fixtures/report_results.json, which this test keeps equal to what Node writes
 * (`UPDATE_FIXTURES=1 npx vitest run test/report` rewrites it after a deliberate change).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildPayload } from '../../orchestrator/agent/payload.js';
import { evalFile, roundDir, shardFile, stageOutputs } from '../../orchestrator/plan/paths.js';
import { jobId, type Stage } from '../../orchestrator/plan/stages.js';
import { StagePayloadSchema } from '../../orchestrator/contract/payload.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';
import { RESULTS_FILE, reportInput, writeReportInput } from '../../orchestrator/report/report-input.js';
import { resultsTable, roundResults } from '../../orchestrator/report/results.js';
import { atomicWrite, atomicWriteJson, atomicWriteJsonl } from '../../orchestrator/store/atomic.js';
import { RunStore, type OutputRecord } from '../../orchestrator/store/run-store.js';

const RUN_ID = 'report-run-0001';
const FIXTURE = resolve(import.meta.dirname, '..', '..', 'workers', 'tests', 'fixtures', 'report_results.json');

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function emptyRun(): RunStore {
  const root = mkdtempSync(join(tmpdir(), 'ipa-report-'));
  roots.push(root);
  const recipeFile = join(root, 'recipe.yaml');
  writeFileSync(recipeFile, 'name: report\n');
  const recipe = RecipeSchema.parse({
    name: 'report',
    model: { base: '/m' },
    rounds: [{ name: 'one' }, { name: 'two' }],
  });
  return RunStore.create({ runsDir: join(root, 'runs'), recipe, recipeFile, queuePrefix: 'test', id: RUN_ID });
}

/** Round 0 evaluated, round 1 complete, round 2 not started: a run stopped part-way. */
function fabricatedRun(): RunStore {
  const store = emptyRun();
  const done = (
    stage: Stage,
    round: number,
    rows: Record<string, number>,
    metrics: Record<string, unknown>,
    extra: Record<string, OutputRecord> = {},
  ) =>
    store.writeDone({
      job_id: jobId({ runId: RUN_ID, round, stage, shard: 0 }),
      stage,
      round,
      shard: 0,
      // Real files at the stage's paths: a done record counts only while its outputs exist.
      outputs: {
        ...Object.fromEntries(
          Object.entries(rows).map(([k, n]) => [
            k,
            atomicWriteJsonl(
              store.abs(stageOutputs(stage, round, 0)[k]),
              Array.from({ length: n }, (_, i) => ({ i })),
            ),
          ]),
        ),
        ...extra,
      },
      metrics,
      failed_items: [],
      attempts: 1,
      started_at: '2026-01-01T00:00:00.000Z',
      finished_at: '2026-01-01T00:00:01.000Z',
      duration_ms: 1000,
      worker: 'w1',
    });
  done('prepare', 0, { seeds: 20, rejected: 0 }, { seeds: 20, rejected: 0 });
  atomicWriteJson(store.abs(evalFile(0)), {
    round: 0,
    overall: 0.25,
    by_task: { colour: 0.5, count: 0 },
    by_benchmark: {},
    n: 8,
  });
  // advance(0) wrote round 1's seed shard: the sample job's input, checked against this record.
  done(
    'advance',
    0,
    {},
    { seeds: 10, next_round: 1 },
    {
      seeds_0: atomicWriteJsonl(
        store.abs(shardFile(1, 'seeds', 0)),
        Array.from({ length: 10 }, (_, i) => ({ i })),
      ),
    },
  );
  done('sample', 1, { responses: 80 }, { seeds: 10, normal: 40, contrastive: 40 });
  done('verify', 1, { verdicts: 80 }, { n: 80, passed: 40, pass_rate: 0.5 });
  done('revise', 1, { revisions: 12 }, {});
  done('verify_revisions', 1, { revision_verdicts: 12 }, { n: 12, passed: 3 });
  done('pair', 1, { pairs: 9, feedback_pairs: 3, challenging: 4 }, {});
  done('train', 1, {}, { steps: 2, reward_accuracy_train_pairs: 0.75, reward_accuracy_heldout_pairs: 0.5 });
  const rows = [
    { model: 'policy', step: 1, loss: 0.69, 'rewards/margins': 0.01, 'rewards/accuracies': 0.5 },
    { model: 'policy', step: 2, loss: 0.6, 'rewards/margins': 0.2, 'rewards/accuracies': 0.75 },
    { model: 'policy', step: 3, loss: 0.5 },
    { model: 'reviser', step: 1, loss: 0.69, 'rewards/margins': 0.3 },
  ];
  atomicWrite(store.abs(`${roundDir(1)}/train_metrics.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  atomicWriteJson(store.abs(evalFile(1)), {
    round: 1,
    overall: 0.375,
    by_task: { colour: 0.75, count: 0 },
    by_benchmark: {},
    n: 8,
  });
  return store;
}

describe('report input (results.json)', () => {
  it('holds roundResults exactly and the report markdown rendered from them', () => {
    const store = fabricatedRun();
    const input = reportInput(store, RUN_ID);
    expect(input.run_id).toBe(RUN_ID);
    expect(input.rounds).toEqual(roundResults(store));
    const md = input.markdown;
    expect(md.startsWith(`# IPA report — ${RUN_ID}\n`)).toBe(true);
    expect(md).toContain(resultsTable(input.rounds));
    expect(md).toContain('| 0 (initial) | 20 | – | – | – | – | – | – |');
    expect(md).toContain('| 1 | 75.0% / 50.0% | 37.5% | 75.0% | 0.0% |');
    expect(md).toContain('| 1 | 10 | 40/40/12 | 50.0% | 25.0% | 9 | 3 | 4 |');
    expect(md).toContain('| 2 | – | –/–/– | – | – | – | – | – |');
    expect(md).toContain('| 2 | – | – | – | – |');
    expect(md).toContain(
      '## Held-out accuracy by task type\n\n| round | colour | count | overall | n |\n|---|---|---|---|---|\n| 0 | 50.0% | 0.0% | 25.0% | 8 |\n| 1 | 75.0% | 0.0% | 37.5% | 8 |\n',
    );
    expect(md.endsWith('“–” marks numbers this run has not produced.\n')).toBe(true);
  });

  it('carries the policy margin curves only, by round', () => {
    expect(reportInput(fabricatedRun(), RUN_ID).curves).toEqual({
      '1': [
        { step: 1, margin: 0.01 },
        { step: 2, margin: 0.2 },
      ],
    });
  });

  it('renders a run with nothing done yet', () => {
    const input = reportInput(emptyRun(), RUN_ID);
    expect(input.rounds.map((r) => r.heldout_accuracy)).toEqual([null, null, null]);
    expect(input.curves).toEqual({});
    expect(input.markdown).toContain('## Held-out accuracy by task type\n\n–\n');
  });

  it('is written atomically into the run directory and handed to the report stage as inputs.results', () => {
    const store = fabricatedRun();
    const path = writeReportInput(store, RUN_ID);
    expect(path).toBe(store.abs(RESULTS_FILE));
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(reportInput(store, RUN_ID));

    const recipe = store.recipe();
    const payload = buildPayload(
      store,
      recipe,
      { runId: RUN_ID, runDir: store.dir, round: 2, stage: 'report', shard: 0 },
      1,
      1,
    );
    expect(payload.inputs).toEqual({ results: store.abs(RESULTS_FILE) });
    expect(StagePayloadSchema.safeParse(payload).success).toBe(true);
    const sample = buildPayload(
      store,
      recipe,
      { runId: RUN_ID, runDir: store.dir, round: 1, stage: 'sample', shard: 0 },
      1,
      1,
    );
    expect(sample.inputs).not.toHaveProperty('results');
  });

  it('is the document the Python report stage is tested with (workers/tests/fixtures/report_results.json)', () => {
    const written = readFileSync(writeReportInput(fabricatedRun(), RUN_ID), 'utf8');
    if (process.env.UPDATE_FIXTURES === '1') writeFileSync(FIXTURE, written);
    expect(JSON.parse(readFileSync(FIXTURE, 'utf8'))).toEqual(JSON.parse(written));
  });
});
