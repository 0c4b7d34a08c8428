import { listWorkers, type WorkerInfo } from '../../agent/registry.js';
import { ExitCode, type Command } from '../command.js';
import { closeQueues, COMMON_HELP, openQueues, parse, redisToWatch } from '../context.js';

export const command: Command = {
  name: 'workers',
  summary: 'Connected workers: queues, device, current jobs',
  help: `Usage: ipa workers [--json]\n\nWorkers publish a heartbeat every 5 s; one silent for 15 s is gone. Without REDIS_URL or\n--redis-url it looks at the private Redis of an \`ipa run\` going on, if any.\n\n${COMMON_HELP}`,
  async run(argv) {
    const { values } = parse(argv, {}, false);
    const target = redisToWatch(values);
    const queues = await openQueues(values, target.prefix, target.url);
    try {
      const ws = await listWorkers(queues.connection, queues.prefix);
      if (values.json) console.log(JSON.stringify(ws, null, 2));
      else if (!ws.length) console.log('no workers connected');
      else for (const w of ws) console.log(workerSummary(w));
      return ExitCode.ok;
    } finally {
      await closeQueues(queues);
    }
  },
};

/** One worker in words: "host.1.g0  queues sample,verify  gpu 0  slots 1  idle"; devices by kind ("cpu", "cuda, cuda"), never as JSON. */
export function workerSummary(w: WorkerInfo): string {
  const kinds = w.devices.map((d) => (d as { kind?: string }).kind).filter(Boolean);
  const dev =
    (w.gpu !== null ? `gpu ${w.gpu}` : kinds.join(', ') || 'cpu') +
    ((w.train_processes ?? 1) > 1 ? `  training on ${w.train_processes} processes` : '');
  const cur = w.current.map((c) => c.job_id).join(', ') || 'idle';
  return `${w.id}  queues ${w.queues.join(',')}  ${dev}  slots ${w.concurrency}  ${cur}`;
}
