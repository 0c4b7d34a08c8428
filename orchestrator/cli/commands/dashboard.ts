import { DashboardConfigError } from '../../dashboard/auth.js';
import { startDashboard } from '../../dashboard/server.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { COMMON_HELP, intFlag, parse, reachableRedis, redisToWatch, runsDir } from '../context.js';
import { onInterrupt } from '../interrupt.js';
import { exitAfter, exitNow, orderlyPart, stopHelp, stopMs, stopOptions } from '../stop.js';

export const command: Command = {
  name: 'dashboard',
  summary: 'Web dashboard: runs, rounds × stages, curves, evals, workers, errors; queues at /queues',
  help: `Usage: ipa dashboard [--port 8080] [--host 127.0.0.1] [--token T] [--poll-ms 1000] [--max-sse-clients 100] [--queue-admin] [--stop-ms MS]

Serves the runs page at /, its JSON API at /api (runs, runs/:id, workers, queue, events) and
bull-board at /queues. Without REDIS_URL or --redis-url it watches the private Redis of an
\`ipa run\` going on, if any. Without a reachable Redis (a finished run whose private Redis is gone) it
still shows every run from its folder; the workers panel and /queues then say the queue is not
connected. Runs until Ctrl-C (SIGINT) or SIGTERM. Open pages are updated by server-sent events;
run directories are checked every --poll-ms (100..1000), once for all pages. At most
--max-sse-clients pages get live events; more are told so and refresh by polling.

Security: binds 127.0.0.1 by default. Any other address (e.g. 0.0.0.0) requires a token
(--token or $IPA_DASHBOARD_TOKEN); a given token is required on every request, even on loopback:
header "Authorization: Bearer T", or open the URL once with ?token=T (sets an HttpOnly cookie).
The queue board is read-only; --queue-admin turns on its job actions (retry, add, edit, remove,
obliterate) and then requires the token on every request, loopback included.
Examples:
  ipa dashboard
  IPA_DASHBOARD_TOKEN=$(openssl rand -hex 16) ipa dashboard --host 0.0.0.0 --port 8080

${stopHelp('open pages are closed, requests still waiting on Redis are given up')}

${COMMON_HELP}`,
  async run(argv) {
    const { values } = parse(
      argv,
      {
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        token: { type: 'string' },
        'poll-ms': { type: 'string', default: '1000' },
        'queue-admin': { type: 'boolean', default: false },
        'max-sse-clients': { type: 'string' },
        ...stopOptions,
      },
      false,
    );
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new CliError('--port must be an integer in 0..65535', ExitCode.usage);
    const pollMs = Number(values['poll-ms']);
    if (!Number.isFinite(pollMs) || pollMs < 100 || pollMs > 1000)
      throw new CliError('--poll-ms must be in 100..1000', ExitCode.usage);
    const maxSseClients = intFlag(values, 'max-sse-clients', 1);
    const stop = stopMs(values);
    // The run pages need only the run folders: no Redis is a note on the page, not a refusal.
    let url: string | undefined;
    let noQueueReason: string | undefined;
    const target = redisToWatch(values);
    try {
      url = await reachableRedis(values, target.url);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      noQueueReason = err.message;
    }
    const token = values.token ?? process.env.IPA_DASHBOARD_TOKEN;
    let dash;
    try {
      dash = await startDashboard({
        redisUrl: url,
        noQueueReason,
        prefix: target.prefix,
        runsDir: runsDir(values),
        host: values.host,
        port,
        token,
        pollMs,
        maxSseClients,
        queueAdmin: values['queue-admin'],
      });
    } catch (err) {
      if (err instanceof DashboardConfigError) throw new CliError(err.message, ExitCode.usage);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw new CliError(`port ${port} on ${values.host} is in use; pick another with --port`, ExitCode.failed);
      throw err;
    }
    // The token is never printed: it may come from the environment of a shared machine.
    console.log(
      `dashboard: ${dash.url}${token ? '  (token required: add ?token=… once, or send Authorization: Bearer …)' : ''}`,
    );
    if (url)
      console.log(`queues:    ${dash.url}queues${values['queue-admin'] ? '  (admin actions on)' : '  (read-only)'}`);
    else console.log(`queues:    not connected (${noQueueReason}); the runs are shown from their folders`);
    let dispose = () => undefined as void;
    await new Promise<void>((res) => {
      dispose = onInterrupt({ first: () => res(), again: () => exitNow([], ExitCode.ok) });
    });
    exitAfter(stop, ExitCode.ok, () => []);
    await dash.close(orderlyPart(stop));
    dispose();
    return ExitCode.ok;
  },
};
