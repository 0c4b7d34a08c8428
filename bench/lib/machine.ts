/** The machine a result came from: CPU, cores, load, and the versions that shape the numbers. */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { createRequire } from 'node:module';
import { execa } from 'execa';
import { PYTHON, pythonEnv } from './python.js';
import type { Machine } from './types.js';

export async function machine(): Promise<Machine> {
  const py = await execa(
    PYTHON,
    [
      '-c',
      'import json, sys, importlib.metadata as m; print(json.dumps({"python": sys.version.split()[0], **{k: m.version(k) for k in ("torch", "transformers", "trl")}}))',
    ],
    { env: pythonEnv(), reject: false },
  );
  const versions = py.exitCode === 0 ? (JSON.parse(String(py.stdout)) as Record<string, string>) : {};
  const redis = await execa('redis-server', ['--version'], { reject: false });
  const bullmq = (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version;
  const model =
    cpus()[0]?.model ?? readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown';
  return {
    cpu: model.trim(),
    cores: cpus().length,
    load_average: loadavg().map((x) => Math.round(x * 100) / 100),
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    python: versions.python ?? 'unknown',
    torch: versions.torch ?? 'unknown',
    transformers: versions.transformers ?? 'unknown',
    trl: versions.trl ?? 'unknown',
    bullmq,
    redis: String(redis.stdout).match(/v=(\S+)/)?.[1] ?? 'unknown',
    os: `${osType()} ${release()}`,
  };
}
