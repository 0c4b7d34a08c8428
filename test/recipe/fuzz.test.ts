/**
 * Property tests: whatever text the loader gets, it either returns a recipe or throws a
 * `RecipeError` whose issues all carry a position, never any other exception.
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { RecipeError } from '../../orchestrator/recipe/errors.js';
import { parseRecipe } from '../../orchestrator/recipe/load.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'recipes');
const minimal = readFileSync(join(fixtures, 'minimal.yaml'), 'utf8');
const full = readFileSync(join(fixtures, 'full.yaml'), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'ipa-fuzz-'));

/** Loads `text`; fails the property on any exception but a well-formed `RecipeError`. */
function loadsOrFailsCleanly(text: string, file = join(scratch, 'r.yaml')): void {
  try {
    parseRecipe(text, file);
  } catch (err) {
    if (!(err instanceof RecipeError)) throw err;
    expect(err.issues.length).toBeGreaterThan(0);
    for (const i of err.issues) {
      expect(i.line).toBeGreaterThanOrEqual(1);
      expect(i.column).toBeGreaterThanOrEqual(1);
      expect(i.message.length).toBeGreaterThan(0);
      expect(i.file).toBe(file);
    }
  }
}

/** Pieces YAML parsers trip over, glued together at random. */
const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        ':',
        ': ',
        '- ',
        '\n',
        '\n  ',
        '\t',
        '{',
        '}',
        '[',
        ']',
        ',',
        '"',
        "'",
        '&a ',
        '*a',
        '!tag ',
        '!!binary ',
        '? ',
        '|',
        '>',
        '#',
        '---',
        '...',
        '%YAML 1.2',
        '<<: ',
        '~',
        'null',
        '.inf',
        '-.nan',
        '0x1F',
        '1e999',
        '__proto__',
        'name',
        'model',
        'base',
        'rounds',
        'sampling',
        'temperature',
        'data',
        'sources',
        'path',
        '../../..',
        '/etc/passwd',
      ),
      fc.string({ maxLength: 8 }),
      fc.integer().map(String),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

/** The value of a mutation: every kind of YAML scalar or collection. */
const anyValue = fc.oneof(
  fc.integer({ min: -5, max: 20 }),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('../../../../etc', '/tmp', 'hf', 'blur', 'all', ''),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.integer(), { maxKeys: 3 }),
);

/** Every path to a node of a plain JS value. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

describe('loader fuzzing', () => {
  it('random YAML-ish text never throws anything but RecipeError', () => {
    fc.assert(
      fc.property(yamlish, (text) => loadsOrFailsCleanly(text)),
      { numRuns: 600 },
    );
  });

  it('random unicode text never throws anything but RecipeError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => loadsOrFailsCleanly(text)),
      { numRuns: 300 },
    );
  });

  for (const [name, base] of [
    ['minimal', minimal],
    ['full', full],
  ] as const) {
    const data = parseDocument(base).toJS() as Record<string, unknown>;
    const targets = paths(data).filter((p) => p.length > 0);

    it(`random mutations of ${name}.yaml (set, delete, rename) never throw anything but RecipeError`, () => {
      const mutation = fc.record({
        path: fc.constantFrom(...targets),
        op: fc.constantFrom('set', 'delete', 'rename'),
        value: anyValue,
        key: fc.string({ minLength: 1, maxLength: 10 }),
      });
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
          const doc = parseDocument(base);
          for (const m of mutations) {
            if (!doc.hasIn(m.path)) continue;
            if (m.op === 'set') doc.setIn(m.path, doc.createNode(m.value));
            else if (m.op === 'delete') doc.deleteIn(m.path);
            else if (typeof m.path[m.path.length - 1] === 'string') {
              const value = doc.getIn(m.path, true);
              doc.deleteIn(m.path);
              doc.setIn([...m.path.slice(0, -1), m.key], value);
            }
          }
          loadsOrFailsCleanly(doc.toString(), join(fixtures, `${name}.yaml`));
        }),
        { numRuns: 300 },
      );
    });

    it(`random line-level edits of ${name}.yaml never throw anything but RecipeError`, () => {
      const lines = base.split('\n');
      const edit = fc.record({
        at: fc.nat(lines.length - 1),
        text: fc.oneof(yamlish, fc.constantFrom('', '  ', '\t', 'x: *a', '  &a y: 1')),
      });
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
          const copy = [...lines];
          for (const e of edits) copy[e.at] = e.text;
          loadsOrFailsCleanly(copy.join('\n'), join(fixtures, `${name}.yaml`));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('the unmutated fixtures load (the mutation tests start from valid recipes)', () => {
    expect(() => parseRecipe(minimal, join(fixtures, 'minimal.yaml'))).not.toThrow();
    expect(() => parseRecipe(full, join(fixtures, 'full.yaml'))).not.toThrow();
  });
});
