/**
 * `ipa run` and `ipa watch` as a person sees them, in a real terminal (tmux), on the tiny model
 * with the real worker: words, one progress line redrawn in place, no JSON; then Ctrl-C pressed
 * once mid-round (the run is interrupted, its private Redis and Python processes are gone, the
 * command to continue is on screen) and that command, `ipa run <id>`, continuing it to the same
 * pairs as the uninterrupted run, computing no finished job again; and Ctrl-C twice, which exits
 * at once while a job refuses to stop (the fake worker), leaving the run resumable.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { jobId } from '../../orchestrator/plan/stages.js';
import { RunStore } from '../../orchestrator/store/run-store.js';
import { FAKE_PYTHON } from '../helpers/fake-worker.js';
import { REPO, tinyRecipe } from '../helpers/harness.js';
import { canonicalPairs } from '../helpers/pairs.js';
import { processTree, redisServersOn, shellQuote, TmuxSession } from '../helpers/tmux.js';
import { alive, sleep, waitFor } from '../integration/faults-support.js';

/**
 * 12 seeds in 2 shards, one round with revision, no evaluation: every stage kind, about a minute.
 * 32 new tokens: with shorter random answers no response contains its reference, so no pairs.
 */
const RECIPE = tinyRecipe({
  data: { synthetic: { train_size: 12 }, shard_size: 6 },
  sampling: { max_new_tokens: 32 },
  eval: { after: 'none' },
});
const IPA = `${shellQuote(process.execPath)} --import tsx ${shellQuote(join(REPO, 'orchestrator', 'cli', 'main.ts'))}`;
/** No REDIS_URL: `ipa run` starts (and must stop) its own redis-server. */
const ENV = { REDIS_URL: '', TERM: 'xterm-256color' };

const scratch: string[] = [];

function recipeFile(name: string): string {
  const work = mkdtempSync(join(tmpdir(), `ipa-term-${name}-`));
  // Inside the repository, so the tiny model under .cache is an allowed path.
  const file = join(REPO, '.cache', `term-${name}-${process.pid}.yaml`);
  writeFileSync(file, stringify({ ...RECIPE, runs_dir: join(work, 'runs'), allowed_roots: [work] }));
  scratch.push(work, file);
  return file;
}

/** The run id, its directory and the private Redis port, from the first lines `ipa run` prints. */
async function started(t: TmuxSession): Promise<{ id: string; store: RunStore; port: number }> {
  const s = await t.waitFor('the run to start', (x) => / run \S+ → /.test(x), 180_000);
  const [, id, dir] = / run (\S+) → (\S+)/.exec(s)!;
  const port = Number(/private redis-server on 127\.0\.0\.1:(\d+)/.exec(s)![1]);
  return { id, store: new RunStore(dir), port };
}

const PROGRESS = /^\[\d[^\]]*\] round \d+: /;

describe('ipa run in a terminal', () => {
  const sessions: TmuxSession[] = [];
  let reference: string[] | undefined;
  afterAll(() => {
    sessions.forEach((s) => s.kill());
    scratch.forEach((p) => rmSync(p, { recursive: true, force: true }));
  });

  it('prints words, one live progress line redrawn in place and no JSON; ipa watch redraws its block with the time elapsed', async () => {
    const run = TmuxSession.start(`${IPA} run ${shellQuote(recipeFile('plain'))}`, { cwd: REPO, env: ENV });
    sessions.push(run);
    const { id, store, port } = await started(run);
    const watch = TmuxSession.start(`${IPA} watch ${id}`, { cwd: REPO, env: ENV, height: 40 });
    sessions.push(watch);
    const progressLines = new Set<string>();
    const watchHeaders = new Set<string>();
    while (!/^\[exit \d+\]$/m.test(run.visible())) {
      const shown = run
        .visible()
        .split('\n')
        .filter((l) => PROGRESS.test(l));
      expect(shown.length).toBeLessThanOrEqual(1); // redrawn, never appended
      shown.forEach((l) => progressLines.add(l));
      const headers = watch
        .visible()
        .split('\n')
        .filter((l) => l.startsWith(`run ${id}  `));
      expect(headers.length).toBeLessThanOrEqual(1);
      headers.forEach((l) => watchHeaders.add(l));
      await sleep(700);
    }
    expect(await run.exitCode(1000)).toBe(0);
    // The line moved on (elapsed time, stages) while staying one line.
    expect(progressLines.size).toBeGreaterThan(1);
    const screen = run.screen();
    for (const line of [
      `started a private redis-server on 127.0.0.1:${port}`,
      'round 0 · prepare: 12 seeds in ',
      'round 1 · sample · shard 0: 24 responses (12 normal, 12 contrastive) in ',
      'round 1 · verify · shard 1: 24 verdicts, ',
      'round 1 · pair · shard 1: ',
      'round 1 · train: policy DPO on ',
      `run ${id} is completed`,
      `run ${id}: completed in `,
    ]) {
      expect(screen).toContain(line);
    }
    expect(screen).toMatch(/^\| 1 \| 12 \| 24\/24\//m); // the results table
    expect(screen).not.toMatch(/^\s*\{|"level":/m); // no pino JSON on the terminal
    expect(redisServersOn(port)).toEqual([]);
    expect(store.info().state).toBe('completed');
    // ipa watch: one header redrawn with the time moving, ending on the final state.
    expect(await watch.exitCode(30_000)).toBe(0);
    expect(watchHeaders.size).toBeGreaterThan(1);
    expect([...watchHeaders].some((h) => / elapsed \d/.test(h))).toBe(true);
    expect(
      watch
        .visible()
        .split('\n')
        .filter((l) => l.startsWith(`run ${id}  `)),
    ).toEqual([expect.stringMatching(new RegExp(`^run ${id}  completed  \\d+ of \\d+ jobs done  took `))]);
    // Job logs hold words and phase marks, not library bars, warnings or printed dicts.
    const train = store.logPath(jobId({ runId: id, round: 1, stage: 'train', shard: 0 }));
    const log = readFileSync(train, 'utf8');
    expect(log).toMatch(/^— policy DPO: \d+ pairs?( \(\d+ held out to measure reward accuracy\))?, 1 epoch —$/m);
    expect(log).not.toMatch(/\r|FutureWarning|\{'loss'|Writing model shards|Loading weights/);
    reference = canonicalPairs(store);
    expect(reference.length).toBeGreaterThan(0);
  }, 900_000);

  it('Ctrl-C once: interrupted, nothing left running, the command to continue on screen; that command finishes it with the same pairs', async () => {
    expect(reference, 'needs the uninterrupted run of the test above').toBeDefined();
    const run = TmuxSession.start(`${IPA} run ${shellQuote(recipeFile('ctrl-c'))}`, { cwd: REPO, env: ENV });
    sessions.push(run);
    const { id, store, port } = await started(run);
    // Mid-round: a shard paired, the round not trained yet.
    await waitFor(
      'a pair job to finish',
      () => store.doneIds().has(jobId({ runId: id, round: 1, stage: 'pair', shard: 0 })),
      600_000,
      200,
    );
    const tree = processTree(run.commandPid()!);
    expect(tree.length).toBeGreaterThan(1); // ipa run and its Python process (redis-server runs in its own group)
    run.keys('C-c');
    expect(await run.exitCode(120_000)).toBe(130);
    const screen = run.screen();
    expect(screen).toContain(
      'Ctrl-C: stopping — running jobs go back to the queue, the private Redis stops (Ctrl-C again to exit at once)',
    );
    expect(screen).toContain(`run ${id} interrupted: everything finished so far is kept in `);
    expect(screen).toContain(`continue it with:  ipa run ${id}`);
    expect(store.info().state).toBe('interrupted');
    expect(redisServersOn(port)).toEqual([]);
    expect(tree.filter(alive)).toEqual([]);
    const doneAtStop = store.doneIds();
    expect([...doneAtStop].some((j) => j.includes('.r1.train.'))).toBe(false);

    const cont = TmuxSession.start(`${IPA} run ${id}`, { cwd: REPO, env: ENV });
    sessions.push(cont);
    expect(await cont.exitCode(900_000)).toBe(0);
    const again = cont.screen();
    expect(again).toMatch(
      new RegExp(`continuing run ${id} \\(.*\\): round 1, \\d+ jobs queued, ${doneAtStop.size} finished jobs kept`),
    );
    expect(again).toContain(`run ${id} is completed`);
    expect(store.info().state).toBe('completed');
    expect(canonicalPairs(store)).toEqual(reference);
    // Done records are the truth: nothing finished before the Ctrl-C was computed again.
    for (const j of doneAtStop) expect({ j, attempts: store.attempts(j) }).toEqual({ j, attempts: 1 });
  }, 1_500_000);

  it('Ctrl-C twice: exits at once while a job will not stop, the run still interrupted and resumable, no orphan Redis', async () => {
    // A stage that runs for ten minutes and ignores cancel: the orderly stop would wait for the
    // bridge's cancel grace (10 s), so only the second Ctrl-C can end the command sooner.
    const env = {
      ...ENV,
      IPA_PYTHON: FAKE_PYTHON,
      FAKE_WORKER_NODE: process.execPath,
      FAKE_STAGE_MS: '600000',
      FAKE_IGNORE_CANCEL: '1',
    };
    const run = TmuxSession.start(`${IPA} run ${shellQuote(recipeFile('twice'))}`, { cwd: REPO, env });
    sessions.push(run);
    const { id, store, port } = await started(run);
    await run.waitFor('the progress line', (x) => x.split('\n').some((l) => PROGRESS.test(l)), 60_000);
    const tree = processTree(run.commandPid()!);
    run.keys('C-c');
    await run.waitFor('the orderly stop to begin', (x) => x.includes('Ctrl-C: stopping'), 10_000);
    await sleep(500); // past the window in which a repeated signal counts as the same key press
    const t = Date.now();
    run.keys('C-c');
    expect(await run.exitCode(8_000)).toBe(130);
    expect(Date.now() - t).toBeLessThan(8_000);
    const screen = run.screen();
    expect(screen).toContain('second Ctrl-C: exiting now, without waiting for running jobs');
    expect(screen).toContain(`continue it with:  ipa run ${id}`);
    expect(store.info().state).toBe('interrupted');
    await waitFor(
      'the private Redis and the worker to be gone',
      () => redisServersOn(port).length === 0 && tree.every((p) => !alive(p)),
      5_000,
      100,
    );
  }, 300_000);
});
