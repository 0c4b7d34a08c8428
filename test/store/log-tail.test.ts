import { appendFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jobLogFiles, LogTail } from '../../orchestrator/store/log-tail.js';
import { scratchRun } from '../helpers/scratch-run.js';

const newRun = () => scratchRun('logs-run');

describe('log tail', () => {
  it('picks job logs by round, stage and shard, and ignores files that are no job log', () => {
    const s = newRun();
    for (const id of ['logs-run.r1.sample.s000', 'logs-run.r1.sample.s001', 'logs-run.r2.sample.s000', 'logs-run.r1.train.s000']) s.appendLog(id, 'x');
    writeFileSync(s.abs('logs/notes.txt'), 'x');
    writeFileSync(s.abs('logs/whatever.log'), 'x');
    const jobs = (f: Parameters<typeof jobLogFiles>[1]) => jobLogFiles(s, f).map((l) => l.job);
    expect(jobs({})).toEqual(['logs-run.r1.sample.s000', 'logs-run.r1.sample.s001', 'logs-run.r1.train.s000', 'logs-run.r2.sample.s000']);
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
