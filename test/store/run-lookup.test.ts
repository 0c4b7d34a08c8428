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
import { ipa } from '../safety/cli-process.js';

function makeRun(runsDir: string, id: string): RunStore {
  const recipeFile = join(runsDir, '..', `${id}.yaml`);
  writeFileSync(recipeFile, 'name: s\nmodel: {base: /m}\n');
  return RunStore.create({
    runsDir,
    recipe: RecipeSchema.parse({ name: 's', model: { base: '/m' } }),
    recipeFile,
    queuePrefix: 'p',
    id,
  });
}

const temp = (name: string) => mkdtempSync(join(tmpdir(), `ipa-${name}-`));

describe('run registry', () => {
  it('lives in $IPA_STATE_DIR, else $XDG_STATE_HOME/ipa, else ~/.local/state/ipa', () => {
    expect(stateDir({ IPA_STATE_DIR: '/s/x' })).toBe('/s/x');
    expect(stateDir({ XDG_STATE_HOME: '/xdg' })).toBe('/xdg/ipa');
    expect(stateDir({ HOME: '/h' })).toMatch(/\/\.local\/state\/ipa$/);
  });

  it('keeps each (id, folder) once, in line order, and skips malformed lines', () => {
    const env = { IPA_STATE_DIR: temp('state') };
    expect(registerRun({ id: 'a', dir: '/x/a', created_at: '1' }, env)).toBeUndefined();
    writeFileSync(
      registryFile(env),
      '{"id":"a","dir":"/x/a","created_at":"1"}\nnot json\n{"id":5}\n{"id":"a","dir":"/y/a","created_at":"2"}\n{"id":"a","dir":"/x/a","created_at":"3"}\n',
    );
    expect(registeredRuns(env)).toEqual([
      { id: 'a', dir: '/x/a', created_at: '1' },
      { id: 'a', dir: '/y/a', created_at: '2' },
    ]);
  });

  it('says why it could not register instead of throwing', () => {
    const file = join(temp('state'), 'a-file');
    writeFileSync(file, '');
    expect(registerRun({ id: 'a', dir: '/x', created_at: '' }, { IPA_STATE_DIR: join(file, 'sub') })).toMatch(
      /^could not record run a in /,
    );
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

describe('one id, one run (issue 25, finding 11)', () => {
  it("a later registry line reusing a run's id with another folder is ignored for lookup and listed as a conflict", async () => {
    const env = { IPA_STATE_DIR: temp('state') };
    const runsDir = join(temp('here'), 'runs');
    const real = makeRun(join(temp('away'), 'runs'), 'real-run-1');
    registerRun({ id: real.id, dir: real.dir, created_at: real.info().created_at }, env);
    // Someone else's run, and a folder whose hand-made run.json copies the real id.
    const other = makeRun(join(temp('other'), 'runs'), 'other-run-2');
    const forged = makeRun(join(temp('forged'), 'runs'), 'real-run-1');
    registerRun({ id: real.id, dir: other.dir, created_at: '2099' }, env);
    registerRun({ id: real.id, dir: forged.dir, created_at: '2099' }, env);

    const found = lookupRun(runsDir, 'real-run-1', registeredRuns(env));
    expect(found.kind).toBe('found');
    if (found.kind === 'found') expect(found.store.dir).toBe(real.dir);
    expect(lookupRun(runsDir, 'real', registeredRuns(env))).toMatchObject({ kind: 'found', store: { dir: real.dir } });
    const conflicts = knownRuns(runsDir, registeredRuns(env)).filter((r) => r.conflict);
    expect(conflicts.map((r) => [r.dir, r.conflict])).toEqual([
      [
        other.dir,
        expect.stringMatching(
          /names this folder as run real-run-1, but its run\.json holds id other-run-2; the line is ignored/,
        ),
      ],
      [
        forged.dir,
        expect.stringMatching(
          new RegExp(`gives id real-run-1 to this folder, but ${real.dir} already holds it; the line is ignored`),
        ),
      ],
    ]);

    const list = await ipa(['list', '--runs-dir', runsDir], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^\\s*real-run-1\\s+queued\\s.*${real.dir}$`, 'm'));
    expect(list.stdout).toMatch(
      new RegExp(`^\\s*real-run-1\\s+conflict\\s.*${other.dir}: a registry line names this folder`, 'm'),
    );
    const status = await ipa(['status', 'real-run-1', '--runs-dir', runsDir, '--json'], env);
    // The forged folder's run.json says real-run-1 too: its recipe file tells the two apart.
    expect(JSON.parse(status.stdout).run).toMatchObject({ id: 'real-run-1', recipe_file: real.info().recipe_file });
    expect(real.info().recipe_file).not.toBe(forged.info().recipe_file);
  }, 60_000);
});
