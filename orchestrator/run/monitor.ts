/**
 * Says what happens in a run, one line per event, by comparing each manifest with the last: a
 * job that finished (what it produced, how long it took), a change of state, and problems as
 * they appear (rejected seeds, a round without pairs). Reads the run directory only, so it
 * reports the work of any worker. Lines go to a logger: words on the console, JSON in the run's
 * orchestrator log.
 */
import type { Logger } from '../log.js';
import { jobLogger } from '../log.js';
import { jobPlace, type Stage } from '../plan/stages.js';
import { runProblems } from '../report/problems.js';
import { describeOutputs, duration } from '../report/stage-words.js';
import type { Manifest } from '../store/manifest.js';
import type { DoneRecord, RunStore } from '../store/run-store.js';

export interface MonitorOptions {
  /** Where the lines go (the run's id is added to each). */
  log: Logger;
  /**
   * Replay the jobs found done at the first look (a new run has none). When false they are
   * summed up in one line: a resumed run does not print its history again. @defaultValue true
   */
  replayDone?: boolean;
}

export class RunMonitor {
  private readonly log: Logger;
  private readonly seen = new Set<string>();
  private readonly said = new Set<string>();
  private state?: string;

  constructor(
    private readonly store: RunStore,
    private readonly opts: MonitorOptions,
  ) {
    this.log = opts.log.child({ run: store.id });
  }

  /** Reports everything that changed since the previous manifest. */
  update(m: Manifest): void {
    const first = this.state === undefined;
    const done = Object.entries(m.jobs)
      .filter(([, j]) => j.done)
      .map(([id]) => id);
    if (first && this.opts.replayDone === false) {
      done.forEach((id) => this.seen.add(id));
      if (done.length)
        this.log.info(
          { event: 'resumed', done: done.length },
          `${done.length} of ${m.totals.jobs} jobs planned so far are done: kept, not computed again`,
        );
    }
    const fresh = done.filter((id) => !this.seen.has(id));
    const records = fresh.map((id) => this.store.doneRecord(id)).filter((r): r is DoneRecord => !!r);
    for (const rec of records.sort((a, b) => a.finished_at.localeCompare(b.finished_at))) this.sayDone(rec);
    fresh.forEach((id) => this.seen.add(id));
    for (const p of runProblems(m, this.store.dir)) {
      if (this.said.has(p.key)) continue;
      this.said.add(p.key);
      this.log.warn({ event: 'problem', problem: p.key }, p.text);
    }
    if (m.run.state !== this.state) {
      if (!first || m.run.state !== 'queued') this.sayState(m);
      this.state = m.run.state;
    }
  }

  private sayDone(rec: DoneRecord): void {
    const stage = rec.stage as Stage;
    const at = {
      run: this.store.id,
      round: rec.round,
      stage,
      shard: rec.shard,
      job: rec.job_id,
      place: jobPlace({ round: rec.round, stage, shard: rec.shard }),
    };
    const outputs = Object.fromEntries(Object.entries(rec.outputs).map(([k, o]) => [k, o.rows]));
    const failed = rec.failed_items.length ? `; ${rec.failed_items.length} items failed` : '';
    const took = rec.stage === 'advance' ? '' : ` in ${duration(rec.duration_ms)}`;
    jobLogger(this.log, at).info(
      { event: 'stage_done', duration_ms: rec.duration_ms, outputs },
      `${describeOutputs(stage, outputs, rec.metrics)}${took}${failed}`,
    );
  }

  private sayState(m: Manifest): void {
    const s = m.run.state;
    if (s === 'failed') this.log.error({ event: 'state', state: s, err: m.run.error }, `run ${m.run.id} failed`);
    else this.log.info({ event: 'state', state: s }, `run ${m.run.id} is ${s}`);
  }
}
