import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseJobId } from '../../plan/stages.js';
import { ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse } from '../context.js';

export const command: Command = {
  name: 'logs',
  summary: 'Show a run\'s job logs (Python output, errors with tracebacks); filter and follow',
  help: `Usage: ipa logs RUN [--round R] [--stage S] [--shard N] [--follow]

Each line is prefixed with its job id (run.round.stage.shard).
Examples:
  ipa logs tiny-2026 --stage train --round 2
  ipa logs tiny-2026 --follow

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      round: { type: 'string' },
      stage: { type: 'string' },
      shard: { type: 'string' },
      follow: { type: 'boolean', short: 'f', default: false },
    });
    const store = findRun(values, positionals[0]);
    const dir = store.abs('logs');
    const offsets = new Map<string, number>();
    const match = (f: string) => {
      const j = parseJobId(f.replace(/\.log$/, ''));
      if (!j) return false;
      if (values.round !== undefined && j.round !== Number(values.round)) return false;
      if (values.stage !== undefined && j.stage !== values.stage) return false;
      if (values.shard !== undefined && j.shard !== Number(values.shard)) return false;
      return true;
    };
    const drain = () => {
      if (!existsSync(dir)) return;
      for (const f of readdirSync(dir).filter(match).sort()) {
        const p = join(dir, f);
        const from = offsets.get(f) ?? 0;
        if (statSync(p).size <= from) continue;
        const text = readFileSync(p).subarray(from).toString('utf8');
        offsets.set(f, from + Buffer.byteLength(text));
        const id = f.replace(/\.log$/, '');
        for (const line of text.split('\n')) if (line) console.log(values.json ? JSON.stringify({ job: id, line }) : `${id} | ${line}`);
      }
    };
    drain();
    while (values.follow) {
      await new Promise((r) => setTimeout(r, 500));
      drain();
      if (['completed', 'failed', 'cancelled'].includes(store.info().state)) {
        drain();
        break;
      }
    }
    return ExitCode.ok;
  },
};
