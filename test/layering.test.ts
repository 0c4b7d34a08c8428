/**
 * The dependency order of orchestrator/, lowest first:
 *   errors, log → recipe → plan → contract → queue, store, bridge → report, agent, run → cli, dashboard
 * A module may import its own layer and the layers below, never one above; the planner does no
 * I/O (no Node module but path, no package but zod). Read from the import statements of every
 * file, so a new upward import fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', 'orchestrator');

/** Layer of each top-level folder (and of the files directly in orchestrator/: `.`). */
const LAYERS: Record<string, number> = {
  '.': 0,
  recipe: 1,
  plan: 2,
  contract: 3,
  queue: 4,
  store: 4,
  bridge: 4,
  report: 5,
  agent: 5,
  run: 5,
  cli: 6,
  dashboard: 6,
};

/** What the planner may import besides its own layer and those below. */
const PURE_NODE = new Set(['path']);
const PURE_PACKAGES = new Set(['zod']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const area = (file: string): string => {
  const rel = relative(ROOT, file).split(sep);
  return rel.length === 1 ? '.' : rel[0];
};

const imports = (source: string): string[] =>
  ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);

/** Every broken rule, one line each, for files given as path → source text. */
function violations(files: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [file, source] of Object.entries(files)) {
    const from = area(file);
    const name = relative(ROOT, file);
    if (LAYERS[from] === undefined) {
      out.push(`${name}: orchestrator/${from}/ has no layer (add it to LAYERS)`);
      continue;
    }
    for (const spec of imports(source)) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        const to = area(target);
        if (relative(ROOT, target).startsWith('..')) out.push(`${name}: imports ${spec}, outside orchestrator/`);
        else if (LAYERS[to] === undefined)
          out.push(`${name}: imports ${spec} from orchestrator/${to}/, which has no layer`);
        else if (LAYERS[to] > LAYERS[from])
          out.push(`${name}: imports ${spec} (${to}, layer ${LAYERS[to]}) from layer ${LAYERS[from]} (${from})`);
      } else if (from === 'plan') {
        const bare = spec.replace(/^node:/, '').split('/')[0];
        const builtin = spec.startsWith('node:') || builtinModules.includes(bare);
        if (builtin ? !PURE_NODE.has(bare) : !PURE_PACKAGES.has(spec))
          out.push(`${name}: the planner imports ${spec} (it does no I/O)`);
      }
    }
  }
  return out;
}

describe('orchestrator/ layering', () => {
  const files = Object.fromEntries(tsFiles(ROOT).map((f) => [f, readFileSync(f, 'utf8')]));

  it('reads every module', () => {
    expect(Object.keys(files).length).toBeGreaterThan(50);
    expect(new Set(Object.keys(files).map(area))).toEqual(new Set(Object.keys(LAYERS)));
  });

  it('no module imports a layer above its own, and the planner imports no I/O', () => {
    expect(violations(files)).toEqual([]);
  });

  it('the check itself catches an upward import, an I/O import in plan/ and an unknown folder', () => {
    const f = (p: string) => join(ROOT, p);
    expect(
      violations({
        [f('recipe/x.ts')]:
          "import { CliError } from '../cli/command.js';\nexport type { Y } from '../store/run-store.js';",
        [f('plan/x.ts')]:
          "import { existsSync } from 'node:fs';\nimport { execa } from 'execa';\nconst m = await import('fs/promises');\nimport { join } from 'node:path';\nimport { z } from 'zod';",
        [f('store/x.ts')]: "import { RunStore } from './run-store.js';\nimport { Recipe } from '../recipe/schema.js';",
        [f('misc/x.ts')]: '',
      }),
    ).toEqual([
      'recipe/x.ts: imports ../cli/command.js (cli, layer 6) from layer 1 (recipe)',
      'recipe/x.ts: imports ../store/run-store.js (store, layer 4) from layer 1 (recipe)',
      'plan/x.ts: the planner imports node:fs (it does no I/O)',
      'plan/x.ts: the planner imports execa (it does no I/O)',
      'plan/x.ts: the planner imports fs/promises (it does no I/O)',
      'misc/x.ts: orchestrator/misc/ has no layer (add it to LAYERS)',
    ]);
  });
});
