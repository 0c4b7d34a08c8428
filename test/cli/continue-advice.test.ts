/**
 * Issue 29, item 3: one story for continuing a run without a Redis of one's own. `ipa resume`
 * queues on a Redis for workers and returns; without one it would need a private Redis that dies
 * with the command, so it refuses (exit 4) and names `ipa run <id>`, which runs what is missing
 * here and waits for the end. Every place that advises (README, docs, `ipa verify`, `ipa status`,
 * the failure hint, `--help`) says the same, and the advised command, run as printed, does it.
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jobId } from '../../orchestrator/plan/stages.js';
import { REPAIR_HINT } from '../../orchestrator/store/integrity.js';
import { RunStore } from '../../orchestrator/store/run-store.js';
import { fakeWorkspace, type FakeWorkspace } from '../helpers/fake-workspace.js';
import { REPO } from '../helpers/harness.js';
import { IpaChild } from '../helpers/ipa-child.js';
import { ipaInProcess } from '../helpers/ipa-in-process.js';
import { scratchRun } from '../helpers/scratch-run.js';

const cleanup: Array<() => void> = [];
afterEach(() => cleanup.splice(0).forEach((c) => c()));

/** Sentences of the README and docs/ that speak of continuing or repairing without a Redis. */
function noRedisSentences(): Array<{ file: string; text: string }> {
  const files = [
    'README.md',
    ...readdirSync(join(REPO, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => join('docs', f)),
  ];
  return files.flatMap((file) =>
    readFileSync(join(REPO, file), 'utf8')
      .replace(/\s+/g, ' ')
      .split(/(?<=[.;:])\s+/)
      .filter((t) => /without (a|one|its) (private )?Redis|no Redis|without one/i.test(t) && /ipa (resume|run)/.test(t))
      .map((text) => ({ file, text })),
  );
}

async function completedRun(w: FakeWorkspace): Promise<RunStore> {
  const run = new IpaChild(['run', w.file], { ...w.env, FAKE_STAGE_MS: '0' });
  cleanup.push(() => run.kill());
  expect(await run.done(180_000), run.output()).toBe(0);
  const [, , dir] = / run (\S+) → (\S+)/.exec(run.output())!;
  return new RunStore(dir);
}

describe('continuing a run without a Redis: one story', () => {
  it('the README and docs never say `ipa resume` works without a Redis; where they speak of it, they name `ipa run`', () => {
    const found = noRedisSentences();
    expect(found.length).toBeGreaterThan(0);
    for (const { file, text } of found) {
      expect({ file, text, names_ipa_run: /ipa run[ `]/.test(text) }).toMatchObject({ names_ipa_run: true });
      expect({ file, text }).not.toMatchObject({
        text: expect.stringMatching(/ipa resume <id>` without a Redis|ipa resume <id>` \(without/),
      });
    }
  });

  it('--help of resume and run, and the failure hint, tell the same story', async () => {
    const resume = (await ipaInProcess('resume', '--help')).out;
    expect(resume).toMatch(
      /It needs a Redis \(--redis-url or REDIS_URL\) that workers serve: it queues and returns\. Without\s+one, continue the run here with `ipa run RUN`/,
    );
    const run = (await ipaInProcess('run', '--help')).out;
    expect(run).toMatch(
      /`ipa run RUN` continues a run[^]*It is the command to use\s+without a Redis of your own; `ipa resume RUN` re-queues a run on a Redis for `ipa worker`s\./,
    );
    expect(REPAIR_HINT).toContain('then `ipa run <run>` (for workers on a shared Redis: `ipa resume <run>`)');
  });

  it('a damaged run: `ipa verify` and `ipa status` advise `ipa run <id>`, `ipa resume` without a Redis refuses and says the same, and that command, run as printed, repairs it', async () => {
    const w = fakeWorkspace();
    cleanup.push(() => w.remove());
    const store = await completedRun(w);
    // A row appended to a finished pair shard: its sha256 no longer matches the done record.
    appendFileSync(store.abs('round-1/pairs/shard-000.jsonl'), '{"id":"injected"}\n');
    const pair = jobId({ runId: store.id, round: 1, stage: 'pair', shard: 0 });

    const at = ['--runs-dir', w.runsDir];
    const verify = await ipaInProcess('verify', store.id, ...at);
    expect(verify.code).toBe(3);
    const advice = `\`ipa run ${store.id}\` computes the damaged outputs, and what was made from them, again (for workers on a shared Redis: \`ipa resume ${store.id} --redis-url URL\`)`;
    expect(verify.out).toContain(advice);
    const status = await ipaInProcess('status', store.id, ...at);
    expect(status.code).toBe(3);
    expect(status.out).toContain(advice);

    const saved = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
    try {
      const resume = await ipaInProcess('resume', store.id, ...at);
      expect(resume.code).toBe(4);
      expect(resume.err).toContain(`no Redis configured, so run ${store.id} (completed) cannot be re-queued. Either:`);
      expect(resume.err).toMatch(
        new RegExp(
          `^ {2}ipa run ${store.id} +continue it here: a private Redis and an in-process worker compute only what is missing$`,
          'm',
        ),
      );
      expect(store.doneRecord(pair)).toBeDefined(); // it changed nothing
    } finally {
      if (saved !== undefined) process.env.REDIS_URL = saved;
    }

    const [command, ...args] = /`(ipa run [^`]+)`/.exec(verify.out)![1].split(' ');
    expect(command).toBe('ipa');
    const repair = new IpaChild(args, { ...w.env, FAKE_STAGE_MS: '0' });
    cleanup.push(() => repair.kill());
    expect(await repair.done(180_000), repair.output()).toBe(0);
    expect(repair.output()).toContain(`computing again: 1 damaged job (${pair.slice(store.id.length + 1)})`);
    expect(store.info().state).toBe('completed');
    expect((await ipaInProcess('verify', store.id, ...at)).code).toBe(0);
  }, 600_000);

  it('`ipa resume` of an interrupted run without a Redis refuses too (exit 4) and names `ipa run <id>`, changing nothing', async () => {
    const store = scratchRun('stopped-run');
    store.setState('interrupted');
    const saved = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
    try {
      const r = await ipaInProcess('resume', store.id, '--runs-dir', dirname(store.dir));
      expect(r.code).toBe(4);
      expect(r.err).toMatch(new RegExp(`^ {2}ipa run ${store.id} +continue it here`, 'm'));
      expect(store.info().state).toBe('interrupted');
    } finally {
      if (saved !== undefined) process.env.REDIS_URL = saved;
    }
  });
});
