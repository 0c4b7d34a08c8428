/**
 * Issue 25, finding 12: a right-to-left override or an unpaired surrogate in a recipe never
 * reaches the screen raw. In a path it is refused, located (file:line:column field) and shown
 * escaped; elsewhere (a round's name) it is printed escaped. Also in --json output.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeUnsafe, firstUnsafe } from '../../orchestrator/unsafe-text.js';
import { ipaInProcess as ipa } from '../helpers/ipa-in-process.js';

const RLO = '\u202e';
const RAW = /[\u202a-\u202e\u2066-\u2069\u200e\u200f]|[\ud800-\udfff]/;

function recipe(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ipa-unsafe-'));
  const file = join(dir, 'r.yaml');
  writeFileSync(file, text);
  return file;
}

describe('bidirectional controls and unpaired surrogates', () => {
  it('are found and escaped, and nothing else is touched', () => {
    expect(firstUnsafe(`runs/${RLO}gpj.exe`)).toEqual({ escaped: '\\u202e', at: 6 });
    expect(firstUnsafe('m\ud800x')).toEqual({ escaped: '\\ud800', at: 2 });
    expect(firstUnsafe('ok \ud83d\ude00 émoji')).toBeUndefined(); // a surrogate pair is a real character
    expect(escapeUnsafe(`a\u2066b\u200fc\udc00`)).toBe('a\\u2066b\\u200fc\\udc00');
  });

  it('in a path: ipa validate refuses with the place and the character escaped, never raw (text and --json)', async () => {
    const file = recipe(
      `name: spoof\nmodel:\n  base: m\n  build_tiny: true\ndata:\n  synthetic:\n    enabled: true\nruns_dir: "runs/\\u202Egpj.exe"\n`,
    );
    const r = await ipa('validate', file);
    expect(r.code).toBe(3);
    expect(r.err).toContain(
      `${file}:8:11 runs_dir: a path cannot contain a bidirectional control character or an unpaired surrogate (\\u202e at character 6)`,
    );
    expect(r.out + r.err).not.toMatch(RAW);
    const j = await ipa('validate', file, '--json');
    expect(j.out).not.toMatch(RAW);
    expect(JSON.parse(j.out).issues[0]).toMatchObject({ path: 'runs_dir', line: 8 });
  });

  it('elsewhere: a round name with a right-to-left override is printed escaped', async () => {
    const file = recipe(
      `name: spoof\nmodel:\n  base: m\n  build_tiny: true\ndata:\n  synthetic:\n    enabled: true\nrounds:\n  - name: "abc${RLO}def"\n`,
    );
    const r = await ipa('validate', file, '--offline');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('(abc\\u202edef)');
    expect(r.out + r.err).not.toMatch(RAW);
    const j = await ipa('validate', file, '--offline', '--json');
    expect(j.out).not.toMatch(RAW);
    // The JSON still holds the name as written: \u202e in JSON is that character.
    expect(JSON.parse(j.out).recipe.rounds[0].name).toBe(`abc${RLO}def`);
  });
});
