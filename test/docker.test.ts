/**
 * The container set-up, checked without a Docker engine: `docker compose config` renders and
 * validates both compose files (it needs only the CLI and its compose plugin), and the
 * Dockerfiles get a structural lint.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

function compose(file: string, env: Record<string, string>, extra: string[] = []) {
  const r = spawnSync('docker', ['compose', '-f', file, ...extra, 'config', '--format', 'json'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('`docker` is not on PATH: install the Docker CLI and its compose plugin to check docker/compose*.yaml');
  }
  return r;
}

function renderOk(file: string, env: Record<string, string>, extra: string[] = []): any {
  const r = compose(file, env, extra);
  if (r.status !== 0 && /unknown command|is not a docker command/.test(r.stderr)) {
    throw new Error(`the docker CLI has no compose plugin (docker compose): ${r.stderr.trim()}`);
  }
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const gpuIds = (svc: any): string[] =>
  (svc.deploy?.resources?.reservations?.devices ?? [])
    .filter((d: any) => d.driver === 'nvidia' && d.capabilities?.includes('gpu'))
    .flatMap((d: any) => d.device_ids ?? []);

const runsMount = (svc: any) => (svc.volumes ?? []).find((v: any) => v.target === '/opt/ipa/runs');

describe('docker/compose.yaml', () => {
  const password = 'test-only-password';
  const token = 'test-only-token';
  const cfg = () => renderOk('docker/compose.yaml', { REDIS_PASSWORD: password, IPA_DASHBOARD_TOKEN: token });

  it('refuses to render without REDIS_PASSWORD: no default secret', () => {
    const r = compose('docker/compose.yaml', { IPA_DASHBOARD_TOKEN: token });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/REDIS_PASSWORD/);
    const text = readFileSync(join(root, 'docker/compose.yaml'), 'utf8');
    expect(text).not.toMatch(/REDIS_PASSWORD:-/); // no fallback value
    expect(text).toMatch(/--requirepass \\"\$\$REDIS_PASSWORD\\"/); // read from the environment at start
  });

  it('refuses to render without a dashboard token (it listens beyond loopback in its container)', () => {
    const r = compose('docker/compose.yaml', { REDIS_PASSWORD: password });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/IPA_DASHBOARD_TOKEN/);
  });

  it('runs Redis 7 with noeviction, appendonly and the password', () => {
    const redis = cfg().services.redis;
    expect(redis.image).toMatch(/^redis:7(\.|-|$)/);
    const cmd = redis.command.join(' ');
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).toMatch(/--requirepass/);
    expect(redis.environment.REDIS_PASSWORD).toBe(password);
    expect(redis.healthcheck.test.join(' ')).toMatch(/redis-cli ping/);
  });

  it('gives every ipa service the REDIS_URL with the password and the same runs mount', () => {
    const services = cfg().services;
    const ipa = Object.entries(services).filter(([name]) => name !== 'redis');
    expect(ipa.length).toBeGreaterThanOrEqual(5);
    const sources = new Set<string>();
    for (const [name, svc] of ipa as [string, any][]) {
      expect(svc.environment.REDIS_URL, name).toBe(`redis://:${password}@redis:6379/0`);
      const m = runsMount(svc);
      expect(m, `${name} mounts the runs directory`).toBeTruthy();
      expect(m.read_only ?? false, name).toBe(false);
      sources.add(m.source);
    }
    expect(sources.size).toBe(1);
  });

  it('reserves NVIDIA GPUs for the generation and train workers, none for the helper', () => {
    const s = cfg().services;
    const gen = Object.keys(s).filter((n) => n.startsWith('gen-worker'));
    expect(gen.length).toBeGreaterThanOrEqual(2);
    const ids = gen.map((n) => gpuIds(s[n])).flat();
    expect(new Set(ids).size).toBe(gen.length); // one distinct GPU each
    expect(gpuIds(s['train-worker'])).toHaveLength(1);
    expect(ids).not.toContain(gpuIds(s['train-worker'])[0]);
    expect(gpuIds(s.helper)).toHaveLength(0);
    for (const n of gen) expect(s[n].command.join(' ')).toMatch(/--queues sample,verify,revise/);
    expect(s['train-worker'].command.join(' ')).toMatch(/--queues train\b/);
    expect(s.helper.command.join(' ')).toMatch(/control/);
    expect(s.orchestrator.command[0]).toBe('dashboard');
    expect(s.orchestrator.environment.IPA_DASHBOARD_TOKEN).toBe(token);
  });
});

describe('docker/compose.workers.yaml', () => {
  const env = {
    REDIS_URL: 'redis://:pw@10.1.2.3:6379/0',
    IPA_RUNS_HOST_DIR: '/mnt/shared/runs',
    IPA_MODELS_HOST_DIR: '/mnt/shared/models',
    IPA_DATA_HOST_DIR: '/mnt/shared/data',
  };

  it('joins a remote Redis with GPU workers on the shared runs folder; train behind a profile', () => {
    const plain = renderOk('docker/compose.workers.yaml', env);
    expect(plain.services['train-worker']).toBeUndefined();
    const all = renderOk('docker/compose.workers.yaml', env, ['--profile', 'train']);
    expect(Object.keys(all.services).sort()).toEqual(['gen-worker-0', 'gen-worker-1', 'train-worker']);
    for (const svc of Object.values(all.services) as any[]) {
      expect(svc.environment.REDIS_URL).toBe(env.REDIS_URL);
      expect(runsMount(svc).source).toBe('/mnt/shared/runs');
      expect(gpuIds(svc)).toHaveLength(1);
    }
  });

  it('refuses to start without the shared Redis and runs folder', () => {
    const r = compose('docker/compose.workers.yaml', { IPA_RUNS_HOST_DIR: '/x', IPA_MODELS_HOST_DIR: '/y', IPA_DATA_HOST_DIR: '/z' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/REDIS_URL/);
  });
});

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(file: string): { op: string; args: string }[] {
  const text = readFileSync(join(root, file), 'utf8').replace(/\\\r?\n/g, ' ');
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

describe.each(['docker/worker.Dockerfile', 'docker/orchestrator.Dockerfile'])('%s', (file) => {
  const ins = instructions(file);
  const stageNames = new Set(ins.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+AS\s+/i)[1]).filter(Boolean));

  it('pins every base image by tag, never latest', () => {
    const refs = [
      ...ins.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--'))[0]),
      ...ins.filter((i) => i.op === 'COPY').flatMap((i) => [...i.args.matchAll(/--from=(\S+)/g)].map((m) => m[1])),
    ].filter((ref) => !stageNames.has(ref));
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref, ref).toMatch(/^[\w./-]+:[\w.-]+(@sha256:[0-9a-f]{64})?$/);
      expect(ref, ref).not.toMatch(/:latest\b/);
    }
  });

  it('runs as a non-root user', () => {
    const users = ins.filter((i) => i.op === 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)!.args).not.toMatch(/^(root|0)(:|$)/);
  });

  it('fetches nothing with ADD', () => {
    for (const i of ins.filter((i) => i.op === 'ADD')) expect(i.args).not.toMatch(/https?:\/\//);
  });

  it('installs Python packages only at pinned versions', () => {
    for (const i of ins.filter((i) => i.op === 'RUN')) {
      for (const m of i.args.matchAll(/\b(?:uv )?pip3? (install|sync)\s+([^&;|]*)/g)) {
        const words = m[2].split(/\s+/).filter(Boolean);
        const fromLock = m[1] === 'sync' || words.some((w) => /^(-r|--requirement|-c)$/.test(w));
        const pkgs = words.filter((w, k) => !w.startsWith('-') && !/^(-r|--requirement|-c|--python)$/.test(words[k - 1] ?? ''));
        if (!fromLock) for (const p of pkgs) expect(p, `${file}: ${p}`).toMatch(/==/);
        if (m[1] === 'sync') expect(pkgs.join(' ')).toMatch(/\.lock$/);
      }
    }
  });

  it('has a HEALTHCHECK and an ipa entrypoint', () => {
    expect(ins.some((i) => i.op === 'HEALTHCHECK' && !/^NONE/i.test(i.args))).toBe(true);
    expect(ins.find((i) => i.op === 'ENTRYPOINT')?.args).toMatch(/"ipa"/);
  });
});

describe('the worker image pins', () => {
  const lock = readFileSync(join(root, 'docker/worker-requirements.lock'), 'utf8');
  const pin = (name: string) => lock.match(new RegExp(`^${name}==(\\S+)`, 'm'))?.[1];

  it('resolves vLLM, torch, transformers, TRL, PEFT and accelerate as one set', () => {
    for (const name of ['vllm', 'torch', 'transformers', 'trl', 'peft', 'accelerate']) expect(pin(name), name).toBeTruthy();
    const readme = readFileSync(join(root, 'docker/README.md'), 'utf8');
    for (const name of ['vllm', 'torch', 'transformers']) expect(readme).toContain(`${name}==${pin(name)}`);
  });

  it('starts the worker with `ipa worker`', () => {
    expect(instructions('docker/worker.Dockerfile').find((i) => i.op === 'ENTRYPOINT')?.args).toMatch(/"ipa", "worker"/);
  });
});
