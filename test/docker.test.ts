/**
 * The container set-up, checked without a Docker engine: `docker compose config` renders and
 * validates every compose file and layout (it needs only the CLI and its compose plugin), the
 * README's "2 × 8 GPUs" steps render as written, the Dockerfiles get a structural lint and the
 * worker image's base and environment are checked against docs/deployment.md, and the health
 * check script runs against a fake /proc. What needs an engine (building, running as a uid with
 * no passwd entry, GPUs) is marked untested in docs/deployment.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRecipe } from '../orchestrator/recipe/load.js';

const root = join(import.meta.dirname, '..');

function compose(file: string | string[], env: Record<string, string>, extra: string[] = []) {
  const files = (Array.isArray(file) ? file : [file]).flatMap((f) => ['-f', f]);
  const r = spawnSync('docker', ['compose', ...files, ...extra, 'config', '--format', 'json'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      '`docker` is not on PATH: install the Docker CLI and its compose plugin to check docker/compose*.yaml',
    );
  }
  return r;
}

function renderOk(file: string | string[], env: Record<string, string>, extra: string[] = []): any {
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

const mountAt = (svc: any, target: string) => (svc.volumes ?? []).find((v: any) => v.target === target);
const runsMount = (svc: any) => mountAt(svc, '/opt/ipa/runs');
/** The value of `flag` in a worker's command. */
const flag = (svc: any, name: string): string | undefined => {
  const i = svc.command.indexOf(name);
  return i >= 0 ? svc.command[i + 1] : undefined;
};
/** GPU services: each sees exactly the GPUs it reserved (--gpu 0 for one, --gpus 0,...,n-1 for n). */
function expectDevicesMatchReservations(services: Record<string, any>): void {
  for (const [name, svc] of Object.entries(services)) {
    const reserved = gpuIds(svc);
    if (!reserved.length) continue;
    const inside = flag(svc, '--gpus') ?? flag(svc, '--gpu');
    expect(inside, name).toBe(reserved.map((_, i) => String(i)).join(','));
    expect(svc.environment.IPA_HEALTH_GPU, name).toBe('1');
  }
}
const workers = (services: Record<string, any>) =>
  Object.entries(services).filter(([n]) => n !== 'redis' && n !== 'orchestrator') as [string, any][];

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

  it('health checks fit each service: the helper reserves no GPU and asks for no CUDA', () => {
    const s = cfg().services;
    expect(s.helper.environment.IPA_HEALTH_GPU).toBe('0');
    expect(gpuIds(s.helper)).toEqual([]);
    expectDevicesMatchReservations(s);
    expect(s.redis.healthcheck.test.join(' ')).toMatch(/redis-cli ping/);
  });

  it('mounts recipes read-only and the HF cache; workers serve the runs under the shared runs folder', () => {
    const s = cfg().services;
    for (const [name, svc] of [...workers(s), ['orchestrator', s.orchestrator]] as [string, any][]) {
      expect(mountAt(svc, '/opt/ipa/recipes')?.read_only, name).toBe(true);
      expect(svc.environment.HF_HUB_OFFLINE, name).toBe('1');
    }
    for (const [name, svc] of workers(s)) {
      expect(mountAt(svc, '/opt/ipa/hf')?.source, name).toMatch(/hf-cache$/);
      // `ipa submit` runs in the orchestrator container: only a run root lets the workers serve its runs.
      expect(svc.environment.IPA_RUN_ROOTS, name).toBe(runsMount(svc).target);
    }
    // The orchestrator's registry (ipa list) outlives `docker compose run --rm`.
    expect(mountAt(s.orchestrator, s.orchestrator.environment.IPA_STATE_DIR)?.type).toBe('volume');
  });
});

describe('docker/compose.8gpu.yaml on top of compose.yaml', () => {
  const cfg = () =>
    renderOk(['docker/compose.yaml', 'docker/compose.8gpu.yaml'], { REDIS_PASSWORD: 'pw', IPA_DASHBOARD_TOKEN: 'tok' });

  it('six generation workers on GPUs 0-5, the train worker on GPUs 6 and 7 as two processes', () => {
    const s = cfg().services;
    const gen = Object.keys(s)
      .filter((n) => n.startsWith('gen-worker'))
      .sort();
    expect(gen).toEqual([
      'gen-worker-0',
      'gen-worker-1',
      'gen-worker-2',
      'gen-worker-3',
      'gen-worker-4',
      'gen-worker-5',
    ]);
    expect(gen.map((n) => gpuIds(s[n]))).toEqual([['0'], ['1'], ['2'], ['3'], ['4'], ['5']]);
    expect(gpuIds(s['train-worker'])).toEqual(['6', '7']);
    expect(flag(s['train-worker'], '--gpus')).toBe('0,1');
    expectDevicesMatchReservations(s);
    for (const n of gen) expect(mountAt(s[n], '/opt/ipa/hf'), n).toBeTruthy(); // the extended workers keep every mount
  });
});

describe('docker/compose.workers.yaml', () => {
  const env = {
    REDIS_URL: 'redis://:pw@10.1.2.3:6379/0',
    IPA_RUNS_HOST_DIR: '/mnt/shared/runs',
    IPA_MODELS_HOST_DIR: '/mnt/shared/models',
    IPA_DATA_HOST_DIR: '/mnt/shared/data',
    IPA_HF_HOST_DIR: '/mnt/shared/hf',
  };

  it('joins a remote Redis with six generation workers on the shared folders; train (GPUs 6-7) behind a profile', () => {
    const plain = renderOk('docker/compose.workers.yaml', env);
    expect(plain.services['train-worker']).toBeUndefined();
    expect(Object.keys(plain.services)).toHaveLength(6);
    const all = renderOk('docker/compose.workers.yaml', env, ['--profile', 'train']);
    expect(gpuIds(all.services['train-worker'])).toEqual(['6', '7']);
    for (const [name, svc] of Object.entries(all.services) as [string, any][]) {
      expect(svc.environment.REDIS_URL, name).toBe(env.REDIS_URL);
      expect(runsMount(svc).source, name).toBe('/mnt/shared/runs');
      expect(mountAt(svc, '/opt/ipa/hf').source, name).toBe('/mnt/shared/hf');
      expect(svc.environment.IPA_RUN_ROOTS, name).toBe('/opt/ipa/runs');
    }
    expectDevicesMatchReservations(all.services);
    expect(new Set(Object.values(all.services).flatMap((svc) => gpuIds(svc))).size).toBe(8);
  });

  it('refuses to start without the shared Redis, runs folder and HF cache', () => {
    const r = compose('docker/compose.workers.yaml', {
      IPA_RUNS_HOST_DIR: '/x',
      IPA_MODELS_HOST_DIR: '/y',
      IPA_DATA_HOST_DIR: '/z',
      IPA_HF_HOST_DIR: '/h',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/REDIS_URL/);
    const { IPA_HF_HOST_DIR: _, ...noHf } = env;
    expect(compose('docker/compose.workers.yaml', noHf).stderr).toMatch(/IPA_HF_HOST_DIR/);
  });
});

describe('docker/compose.train-group.yaml: training jobs across nodes', () => {
  it("gives each node's train worker --nodes, its address and the host network; refuses without the address", () => {
    const node1 = renderOk(['docker/compose.yaml', 'docker/compose.8gpu.yaml', 'docker/compose.train-group.yaml'], {
      REDIS_PASSWORD: 'pw', IPA_DASHBOARD_TOKEN: 'tok', REDIS_BIND: '10.0.0.5', IPA_NODE_ADDR: '10.0.0.5', IPA_TRAIN_NODES: '2',
    }).services['train-worker']; // prettier-ignore
    expect([flag(node1, '--nodes'), flag(node1, '--node-addr'), flag(node1, '--gpus'), node1.network_mode]).toEqual([
      '2',
      '10.0.0.5',
      '0,1',
      'host',
    ]);
    // On the host network the name `redis` does not resolve: Redis where compose.yaml publishes it.
    expect(node1.environment.REDIS_URL).toBe('redis://:pw@10.0.0.5:6379/0');
    const node2 = renderOk(['docker/compose.workers.yaml', 'docker/compose.train-group.yaml'], {
      REDIS_URL: 'redis://:pw@10.0.0.5:6379/0', IPA_NODE_ADDR: '10.0.0.6', IPA_RUNS_HOST_DIR: '/r', IPA_MODELS_HOST_DIR: '/m', IPA_DATA_HOST_DIR: '/d', IPA_HF_HOST_DIR: '/h',
    }, ['--profile', 'train']).services['train-worker']; // prettier-ignore
    expect([
      flag(node2, '--nodes'),
      flag(node2, '--node-addr'),
      node2.network_mode,
      node2.environment.REDIS_URL,
    ]).toEqual(['2', '10.0.0.6', 'host', 'redis://:pw@10.0.0.5:6379/0']);
    const r = compose(['docker/compose.yaml', 'docker/compose.train-group.yaml'], {
      REDIS_PASSWORD: 'pw',
      IPA_DASHBOARD_TOKEN: 'tok',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/IPA_NODE_ADDR/);
  });
});

describe('README: the "2 × 8 GPUs" steps, as written', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const from = readme.indexOf('### 2 × 8 GPUs');
  const section = readme.slice(from, readme.indexOf('\n#', from + 5));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);

  /**
   * Runs a block in bash in `dir` (the repository's docker/ linked in, recipes/ copied), with
   * `docker` standing in: `up -d --build` renders (`config --format json`) into config-N.json,
   * `run` is written down. Returns the variables the block exported, for the next block.
   */
  function runBlock(block: string, dir: string, env: Record<string, string>): Record<string, string> {
    const script = `set -euo pipefail
n=0
docker() {
  local args=() run=0
  for a in "$@"; do case "$a" in up) args+=(config --format json);; -d|--build) ;; run) run=1;; *) args+=("$a");; esac; done
  if [ $run = 1 ]; then printf '%s\\n' "$*" >> "$OUT/runs.txt"; return 0; fi
  n=$((n+1)); command docker "\${args[@]}" > "$OUT/config-$BLOCK-$n.json"
}
${block}
env -0 > "$OUT/env-$BLOCK"
`;
    const r = spawnSync('bash', ['-c', script], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', OUT: dir, ...env },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const out = readFileSync(join(dir, `env-${env.BLOCK}`), 'utf8')
      .split('\0')
      .filter(Boolean);
    return Object.fromEntries(out.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  }

  it('node 1, node 2 and the submit render as the files say: 16 GPUs, training across both nodes', () => {
    expect(blocks).toHaveLength(3);
    const dir = mkdtempSync(join(tmpdir(), 'ipa-readme-'));
    spawnSync('ln', ['-s', join(root, 'docker'), join(dir, 'docker')]);
    spawnSync('cp', ['-r', join(root, 'recipes'), join(dir, 'recipes')]);
    const node1Env = runBlock(blocks[0], dir, { BLOCK: '1' });
    runBlock(blocks[1], dir, { BLOCK: '2', REDIS_PASSWORD: node1Env.REDIS_PASSWORD });
    runBlock(blocks[2], dir, {
      BLOCK: '3',
      REDIS_PASSWORD: node1Env.REDIS_PASSWORD,
      IPA_DASHBOARD_TOKEN: node1Env.IPA_DASHBOARD_TOKEN,
    });
    const node1 = JSON.parse(readFileSync(join(dir, 'config-1-1.json'), 'utf8')).services;
    const node2 = JSON.parse(readFileSync(join(dir, 'config-2-1.json'), 'utf8')).services;
    for (const s of [node1, node2]) {
      expectDevicesMatchReservations(s);
      expect(
        Object.values(s)
          .flatMap((svc) => gpuIds(svc))
          .sort(),
      ).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
      expect(runsMount(s['train-worker']).source).toBe('/mnt/ipa/runs');
      expect(flag(s['train-worker'], '--nodes')).toBe('2');
    }
    expect(node1.redis.ports[0].host_ip).toBe('10.0.0.5');
    expect(node2['train-worker'].environment.REDIS_URL).toBe(`redis://:${node1Env.REDIS_PASSWORD}@10.0.0.5:6379/0`);
    expect(node1['train-worker'].environment.REDIS_URL).toBe(node2['train-worker'].environment.REDIS_URL);
    expect([flag(node1['train-worker'], '--node-addr'), flag(node2['train-worker'], '--node-addr')]).toEqual([
      '10.0.0.5',
      '10.0.0.6',
    ]);
    // The recipe copy the third block submits: twelve generation workers' worth of queue limits.
    const { recipe } = loadRecipe(join(dir, 'recipes', 'qwen2vl-7b-ipa-2x8.yaml'), { missingAsWarnings: true });
    expect(recipe.orchestration.concurrency).toMatchObject({ sample: 12, verify: 12, revise: 12, train: 1 });
    expect(readFileSync(join(dir, 'runs.txt'), 'utf8')).toMatch(
      /-f docker\/compose\.yaml run --rm orchestrator submit recipes\/qwen2vl-7b-ipa-2x8\.yaml/,
    );
  });
});

describe('docker/healthcheck.sh (run against a fake /proc)', () => {
  function check(cmdlines: string[][], env: Record<string, string>) {
    const proc = mkdtempSync(join(tmpdir(), 'ipa-proc-'));
    cmdlines.forEach((argv, i) => {
      mkdirSync(join(proc, String(100 + i)));
      writeFileSync(join(proc, String(100 + i), 'cmdline'), argv.join('\0') + '\0');
    });
    return spawnSync('sh', [join(root, 'docker/healthcheck.sh')], {
      env: { PATH: process.env.PATH ?? '', PROC_ROOT: proc, ...env },
      encoding: 'utf8',
    });
  }
  const agent = ['node', '/usr/local/bin/ipa', 'worker', '--queues', 'control,prepare,pair'];

  it('healthy with the agent alive and no GPU asked for (the helper); unhealthy, saying why, otherwise', () => {
    expect(check([['tini', '--', 'ipa', 'worker'], agent], { IPA_HEALTH_GPU: '0' })).toMatchObject({
      status: 0,
      stdout: 'healthy\n',
    });
    // tini outlives nothing (it exits with its child), but its own line must not count as the agent.
    const dead = check(
      [
        ['tini', '--', 'ipa', 'worker', '--queues', 'control'],
        ['node', '/usr/local/bin/ipa', 'workers'],
      ],
      { IPA_HEALTH_GPU: '0' },
    );
    expect([dead.status, dead.stdout]).toEqual([1, 'unhealthy: no ipa worker agent process is running\n']);
    // A GPU service on a machine whose torch sees no CUDA device (this one).
    const noGpu = check([agent], { IPA_HEALTH_GPU: '1', IPA_PYTHON: join(root, '.venv', 'bin', 'python') });
    expect([noGpu.status, noGpu.stdout]).toEqual([
      1,
      'unhealthy: CUDA sees no usable GPU in a service that reserved one (IPA_HEALTH_GPU=1)\n',
    ]);
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
  const stageNames = new Set(
    ins
      .filter((i) => i.op === 'FROM')
      .map((i) => i.args.split(/\s+AS\s+/i)[1])
      .filter(Boolean),
  );

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
        const pkgs = words.filter(
          (w, k) => !w.startsWith('-') && !/^(-r|--requirement|-c|--python)$/.test(words[k - 1] ?? ''),
        );
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

describe('the worker image', () => {
  it('starts the worker with `ipa worker`', () => {
    expect(instructions('docker/worker.Dockerfile').find((i) => i.op === 'ENTRYPOINT')?.args).toMatch(
      /"ipa", "worker"/,
    );
  });
});

describe('the worker image runs its own jobs (what docs/deployment.md says it is)', () => {
  const ins = instructions('docker/worker.Dockerfile');
  const docs = readFileSync(join(root, 'docs/deployment.md'), 'utf8');
  /** ENV values, later instructions winning, `KEY=value` pairs of every ENV line. */
  const env: Record<string, string> = Object.fromEntries(
    ins.filter((i) => i.op === 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])),
  );

  it('has a compiler: the CUDA devel base (nvcc) and build-essential (gcc, g++)', () => {
    const base = ins
      .filter((i) => i.op === 'FROM')
      .at(-1)!
      .args.split(/\s+/)[0];
    expect(base).toMatch(/^nvidia\/cuda:13\.0\.\d+-cudnn-devel-ubuntu24\.04$/);
    expect(docs).toContain(`\`${base}\``);
    expect(
      ins
        .filter((i) => i.op === 'RUN')
        .map((i) => i.args)
        .join(' '),
    ).toMatch(/apt-get install[^&]*\bbuild-essential\b/);
  });

  it('sets HOME and every cache to explicit paths any uid can write, as the docs list them', () => {
    const caches = [
      'HOME',
      'XDG_CACHE_HOME',
      'HF_HOME',
      'TRITON_CACHE_DIR',
      'VLLM_CACHE_ROOT',
      'TORCHINDUCTOR_CACHE_DIR',
      'MPLCONFIGDIR',
    ];
    const run = ins
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join(' ');
    const created = [...run.matchAll(/mkdir -p ([^&]+)/g)].flatMap((m) => m[1].trim().split(/\s+/));
    const open = [...run.matchAll(/chmod 1777 ([^&]+)/g)].flatMap((m) => m[1].trim().split(/\s+/));
    for (const name of caches) {
      expect(env[name], name).toMatch(/^\/opt\/ipa\//);
      expect(created, name).toContain(env[name]);
      // mode 1777 on the folder itself, or on a parent listed with a glob (/opt/ipa/cache/*).
      expect(
        open.some((p) => p === env[name] || (p.endsWith('/*') && env[name].startsWith(p.slice(0, -1)))),
        name,
      ).toBe(true);
      expect(docs, name).toContain(`\`${name}=${env[name]}\``);
    }
    expect(
      ins
        .filter((i) => i.op === 'COPY')
        .map((i) => i.args)
        .join('\n'),
    ).not.toMatch(/^recipes\b/m); // mounted, not baked
  });

  it("the HF cache every compose worker mounts is the image's HF_HOME", () => {
    const services = renderOk('docker/compose.yaml', { REDIS_PASSWORD: 'pw', IPA_DASHBOARD_TOKEN: 'tok' }).services;
    for (const [name, svc] of workers(services)) expect(mountAt(svc, env.HF_HOME), name).toBeTruthy();
  });
});
