/** References to a README section from recipe comments and code (`README, "Section"`) name text the README has. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/harness.js';

function filesUnder(dir: string, ext: RegExp): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => ext.test(f))
    .map((f) => join(dir, f));
}

describe('README references', () => {
  it('every (README, "…") in recipes and orchestrator code names a heading or paragraph of the README', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const refs = [...filesUnder('recipes', /\.ya?ml$/), ...filesUnder('orchestrator', /\.ts$/)].flatMap((f) =>
      [...readFileSync(join(REPO, f), 'utf8').matchAll(/README, "([^"]+)"/g)].map((m) => ({ file: f, section: m[1] })),
    );
    expect(refs.length).toBeGreaterThan(0);
    const lines = readme.split('\n');
    const found = (s: string) =>
      lines.some((l) => (/^#+ /.test(l) ? l.replace(/^#+ /, '') === s : l.startsWith(`${s}:`)));
    expect(refs.filter((r) => !found(r.section))).toEqual([]);
  });
});
