import { appendFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { latestErrors } from '../../orchestrator/dashboard/run-files.js';
import { jobLogFiles, LogTail } from '../../orchestrator/store/log-tail.js';
import { readCurves, readEvals } from '../../orchestrator/store/metrics-files.js';
import { scratchRun } from '../helpers/scratch-run.js';

const newRun = () => scratchRun('logs-run');

describe('log tail', () => {
  it('picks job logs by round, stage and shard, and ignores files that are no job log', () => {
    const s = newRun();
    for (const id of [
      'logs-run.r1.sample.s000',
      'logs-run.r1.sample.s001',
      'logs-run.r2.sample.s000',
      'logs-run.r1.train.s000',
    ])
      s.appendLog(id, 'x');
    writeFileSync(s.abs('logs/notes.txt'), 'x');
    writeFileSync(s.abs('logs/whatever.log'), 'x');
    const jobs = (f: Parameters<typeof jobLogFiles>[1]) => jobLogFiles(s, f).map((l) => l.job);
    expect(jobs({})).toEqual([
      'logs-run.r1.sample.s000',
      'logs-run.r1.sample.s001',
      'logs-run.r1.train.s000',
      'logs-run.r2.sample.s000',
    ]);
    expect(jobs({ round: 1, stage: 'sample' })).toEqual(['logs-run.r1.sample.s000', 'logs-run.r1.sample.s001']);
    expect(jobs({ shard: 1 })).toEqual(['logs-run.r1.sample.s001']);
  });

  it('returns only new lines on each read, keeps a half-written line for later, and gives it as is at the end', () => {
    const s = newRun();
    const id = 'logs-run.r1.sample.s000';
    const tail = new LogTail(s, { stage: 'sample' });
    expect(tail.read()).toEqual([]);
    s.appendLog(id, 'one\ntwo');
    appendFileSync(s.logPath(id), 'thr');
    expect(tail.read()).toEqual([
      { job: id, line: 'one' },
      { job: id, line: 'two' },
    ]);
    appendFileSync(s.logPath(id), 'ee é\nfou');
    expect(tail.read()).toEqual([{ job: id, line: 'three é' }]);
    expect(tail.read(true)).toEqual([{ job: id, line: 'fou' }]);
    expect(tail.read(true)).toEqual([]);
  });

  it('follows until the run reaches a final state', async () => {
    const s = newRun();
    const id = 'logs-run.r0.prepare.s000';
    s.appendLog(id, 'before');
    const seen: string[] = [];
    const following = new LogTail(s).follow(({ line }) => seen.push(line), { follow: true, pollMs: 20 });
    await new Promise((r) => setTimeout(r, 60));
    s.appendLog(id, 'during');
    s.setState('paused'); // not final: still followed
    await new Promise((r) => setTimeout(r, 60));
    s.appendLog(id, 'last');
    s.setState('cancelled');
    await following;
    expect(seen).toEqual(['before', 'during', 'last']);
  });
});

describe('links out of the run directory', () => {
  it('are not followed: a logs/ link to outside content shows under no error panel, nor do linked metrics (issue 14, finding 6)', () => {
    const s = newRun();
    const outside = mkdtempSync(join(tmpdir(), 'ipa-outside-'));
    writeFileSync(join(outside, 'secret.log'), 'RuntimeError: content from outside the run\n');
    writeFileSync(join(outside, 'metrics.jsonl'), '{"step": 1, "loss": 0.5}\n');
    writeFileSync(join(outside, 'eval.json'), '{"overall": 0.9, "n": 1}');
    s.appendLog('logs-run.r1.sample.s000', 'ValueError: a real error inside');
    symlinkSync(join(outside, 'secret.log'), s.abs('logs/logs-run.r1.sample.s001.log'));
    mkdirSync(s.abs('round-1'), { recursive: true });
    symlinkSync(join(outside, 'metrics.jsonl'), s.abs('round-1/train_metrics.jsonl'));
    mkdirSync(s.abs('eval'), { recursive: true });
    symlinkSync(join(outside, 'eval.json'), s.abs('eval/round-0.json'));
    expect(jobLogFiles(s).map((l) => l.job)).toEqual(['logs-run.r1.sample.s000']);
    expect(latestErrors(s).map((e) => e.headline)).toEqual(['ValueError: a real error inside']);
    expect(readCurves(s, 1)).toEqual([]);
    expect(readEvals(s, 1)).toEqual([]);
  });
});
