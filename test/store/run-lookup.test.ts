/**
 * Finding runs by what a person types: a directory, an id, a prefix; in the runs folder or in the
 * per-user registry (a temp state folder here); ambiguous prefixes and vanished directories said so.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';
import { knownRuns, lookupRun } from '../../orchestrator/store/run-lookup.js';
import { registeredRuns, registerRun, registryFile, stateDir } from '../../orchestrator/store/run-registry.js';
import { RunStore } from '../../orchestrator/store/run-store.js';

function makeRun(runsDir: string, id: string): RunStore {
  const recipeFile = join(runsDir, '..', `${id}.yaml`);
  writeFileSync(recipeFile, 'name: s\nmodel: {base: /m}\n');
  return RunStore.create({ runsDir, recipe: RecipeSchema.parse({ name: 's', model: { base: '/m' } }), recipeFile, queuePrefix: 'p', id });
}

const temp = (name: string) => mkdtempSync(join(tmpdir(), `ipa-${name}-`));

describe('run registry', () => {
  it('lives in $IPA_STATE_DIR, else $XDG_STATE_HOME/ipa, else ~/.local/state/ipa', () => {
    expect(stateDir({ IPA_STATE_DIR: '/s/x' })).toBe('/s/x');
    expect(stateDir({ XDG_STATE_HOME: '/xdg' })).toBe('/xdg/ipa');
    expect(stateDir({ HOME: '/h' })).toMatch(/\/\.local\/state\/ipa$/);
  });

  it('keeps the last entry per id and skips malformed lines', () => {
    const env = { IPA_STATE_DIR: temp('state') };
    expect(registerRun({ id: 'a', dir: '/x/a', created_at: '1' }, env)).toBeUndefined();
    writeFileSync(registryFile(env), '{"id":"a","dir":"/x/a","created_at":"1"}\nnot json\n{"id":5}\n{"id":"a","dir":"/y/a","created_at":"2"}\n');
    expect(registeredRuns(env)).toEqual([{ id: 'a', dir: '/y/a', created_at: '2' }]);
  });

  it('says why it could not register instead of throwing', () => {
    const file = join(temp('state'), 'a-file');
    writeFileSync(file, '');
    expect(registerRun({ id: 'a', dir: '/x', created_at: '' }, { IPA_STATE_DIR: join(file, 'sub') })).toMatch(/^could not record run a in /);
  });
});

describe('finding a run', () => {
  it('by directory, exact id, or unique prefix, in the runs folder or elsewhere through the registry', () => {
    const runsDir = join(temp('here'), 'runs');
    const elsewhere = join(temp('away'), 'runs');
    const local = makeRun(runsDir, 'tiny-1');
    const far = makeRun(elsewhere, 'far-1');
    const reg = [{ id: far.id, dir: far.dir, created_at: far.info().created_at }];
    const found = (ref: string) => {
      const r = lookupRun(runsDir, ref, reg);
      return r.kind === 'found' ? r.store.dir : r.kind;
    };
    expect(found(local.dir)).toBe(local.dir);
    expect(found('tiny-1')).toBe(local.dir);
    expect(found('ti')).toBe(local.dir);
    expect(found('far-1')).toBe(far.dir);
    expect(found('fa')).toBe(far.dir);
    expect(found('nope')).toBe('none');
  });

  it('an ambiguous prefix lists every candidate; a registered run whose directory is gone says so', () => {
    const runsDir = join(temp('here'), 'runs');
    const a = makeRun(runsDir, 'tiny1-a');
    const b = makeRun(runsDir, 'tiny1-b');
    const gone = makeRun(join(temp('gone'), 'runs'), 'old-run');
    const reg = [
      { id: a.id, dir: a.dir, created_at: a.info().created_at },
      { id: gone.id, dir: gone.dir, created_at: gone.info().created_at },
    ];
    rmSync(gone.dir, { recursive: true });
    const amb = lookupRun(runsDir, 'tiny1', reg);
    expect(amb.kind).toBe('ambiguous');
    if (amb.kind === 'ambiguous') expect(amb.candidates.map((c) => c.id)).toEqual(['tiny1-a', 'tiny1-b']);
    expect(lookupRun(runsDir, 'old-run', reg)).toMatchObject({ kind: 'gone', run: { id: 'old-run', missing: true } });
    // listed once each (the registry and the folder agree on tiny1-a), the gone one marked
    expect(knownRuns(runsDir, reg).map((r) => [r.id, r.missing])).toEqual([
      ['tiny1-a', false],
      ['tiny1-b', false],
      ['old-run', true],
    ]);
    expect(b.id).toBe('tiny1-b');
  });
});
