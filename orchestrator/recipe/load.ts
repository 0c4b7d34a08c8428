/**
 * Loads a recipe: parse (YAML, keeping node positions) → validate (the zod schema) → normalise
 * (paths made absolute) → rules (paths stay inside the allowed roots, inputs exist). Each step
 * collects every problem it finds as a `RecipeIssue` pointing at the offending line and column,
 * then throws one `RecipeError`. Nothing in a recipe is ever executed: custom tags are refused,
 * aliases are capped (no billion-laughs expansion) and only plain data comes out of the YAML.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { closest, formatPath, RecipeError, type RecipeIssue } from './errors.js';
import { RecipeSchema, type Recipe } from './schema.js';

export type { Recipe } from './schema.js';

/** Larger files are refused before parsing: a recipe is a page of settings, not data. */
export const MAX_RECIPE_BYTES = 1024 * 1024;
/** Aliases allowed in one recipe; enough for sharing a block or two, too few for an expansion bomb. */
export const MAX_ALIASES = 16;
/** Tags of the YAML core schema; any other explicit tag is refused. */
const CORE_TAGS = new Set(['map', 'seq', 'str', 'int', 'float', 'bool', 'null'].map((t) => `tag:yaml.org,2002:${t}`));

/** The ipa repository root (recipes inside it may point anywhere in it). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LoadOptions {
  /**
   * The repository root; recipes inside it may reference any path in it.
   * @defaultValue the ipa checkout this module lives in
   */
  repoRoot?: string;
  /**
   * Check that referenced inputs (model, sources, templates, benchmarks) exist.
   * @defaultValue true
   */
  checkFiles?: boolean;
}

export interface LoadedRecipe {
  /** The validated recipe: defaults filled, every path absolute. */
  recipe: Recipe;
  /** The recipe text as written. */
  source: string;
  /** Absolute folder of the recipe file: relative paths were resolved against it. */
  dir: string;
}

type Seg = string | number;

/** Reads, decodes and loads a recipe file; throws `RecipeError` for every kind of bad input. */
export function loadRecipe(file: string, opts: LoadOptions = {}): LoadedRecipe {
  let bytes: Buffer;
  try {
    if (statSync(file).size > MAX_RECIPE_BYTES) throw new RecipeError([fileIssue(file, `recipe is larger than ${MAX_RECIPE_BYTES} bytes`)]);
    bytes = readFileSync(file);
  } catch (err) {
    if (err instanceof RecipeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file' : (err as Error).message;
    throw new RecipeError([fileIssue(file, `cannot read recipe: ${why}`)]);
  }
  return parseRecipe(decodeUtf8(bytes, file), file, opts);
}

/** Loads a recipe from its text; `file` names it in messages and anchors its relative paths. */
export function parseRecipe(text: string, file: string, opts: LoadOptions = {}): LoadedRecipe {
  const dir = dirname(resolve(file));
  if (text.length > MAX_RECIPE_BYTES) throw new RecipeError([fileIssue(file, `recipe is larger than ${MAX_RECIPE_BYTES} bytes`)]);
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (source.trim() === '') throw new RecipeError([fileIssue(file, 'recipe is empty', 'a recipe needs at least `name` and `model.base`')]);

  const lineCounter = new LineCounter();
  // uniqueKeys is off so that duplicates are reported by our own walk, which knows their path.
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: false, version: '1.2', schema: 'core' });
  const at = new Locator(doc, lineCounter, file);

  const syntax = [
    ...doc.errors.map((e) =>
      at.offset(e.pos[0], '', e.code === 'MULTIPLE_DOCS' ? 'a recipe is a single YAML document (found a second `---`)' : `YAML syntax error: ${e.message}`),
    ),
    ...doc.warnings.filter((w) => w.code !== 'TAG_RESOLVE_FAILED').map((w) => at.offset(w.pos[0], '', `YAML: ${w.message}`)),
    ...unsafeNodes(doc, at),
  ];
  if (syntax.length) throw new RecipeError(syntax);
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new RecipeError([fileIssue(file, 'recipe is empty (only comments)', 'a recipe needs at least `name` and `model.base`')]);
  }
  if (!isMap(doc.contents)) {
    const got = isSeq(doc.contents) ? 'a list' : 'a single value';
    throw new RecipeError([at.issue([], 'value', `a recipe is a mapping of settings (key: value), got ${got}`)]);
  }

  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  const parsed = RecipeSchema.safeParse(data);
  if (!parsed.success) throw new RecipeError(parsed.error.issues.flatMap((i) => schemaIssues(i, data, at)));

  const recipe = normalise(parsed.data, dir, opts, at);
  return { recipe, source: text, dir };
}

/** One line: name, rounds, model, data, verifier and sampling sizes. */
export function describeRecipe(recipe: Recipe): string {
  const rounds = recipe.rounds.map((r, i) => r.name ?? `round ${i + 1}`).join(', ');
  const data = [
    recipe.data.sources.length ? `${recipe.data.sources.length} source${recipe.data.sources.length === 1 ? '' : 's'}` : '',
    recipe.data.synthetic.enabled ? 'synthetic data' : '',
  ]
    .filter(Boolean)
    .join(' + ');
  const model = `${recipe.model.base}${recipe.model.build_tiny ? ' (tiny)' : ''}`;
  const s = recipe.sampling;
  return (
    `${recipe.name}: ${recipe.rounds.length} round${recipe.rounds.length === 1 ? '' : 's'} (${rounds}), model ${model}, ` +
    `data ${data}, ${recipe.verifier.kind} verifier, K=${s.num_normal}+${s.num_contrastive} on ${s.backend}`
  );
}

function fileIssue(file: string, message: string, hint?: string): RecipeIssue {
  return { file, line: 1, column: 1, path: '', message, ...(hint ? { hint } : {}) };
}

/**
 * Strict UTF-8 decoding; a bad byte is reported at its line and column (columns counted in
 * characters decoded so far, so they match what an editor shows up to the bad byte).
 */
function decodeUtf8(bytes: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, bad));
    const lines = before.split('\n');
    return fail({
      file,
      line: lines.length,
      column: lines[lines.length - 1].length + 1,
      path: '',
      message: `recipe is not valid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')} at offset ${bad})`,
      hint: 'save the file as UTF-8',
    });
  }
}

function fail(issue: RecipeIssue): never {
  throw new RecipeError([issue]);
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstInvalidUtf8(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
    }
    // Overlong forms, surrogates and code points above U+10FFFF.
    const d1 = b[i + 1];
    if ((c === 0xe0 && d1 < 0xa0) || (c === 0xed && d1 > 0x9f) || (c === 0xf0 && d1 < 0x90) || (c === 0xf4 && d1 > 0x8f)) return i;
    i += n + 1;
  }
  return Math.max(0, b.length - 1);
}

/** Maps field paths to the line and column of their YAML key or value. */
class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    readonly file: string,
  ) {}

  /** An issue at a source offset (syntax errors). */
  offset(offset: number, path: string, message: string, hint?: string): RecipeIssue {
    const { line, col } = this.lines.linePos(Math.max(0, offset));
    return { file: this.file, line: Math.max(1, line), column: Math.max(1, col), path, message, ...(hint ? { hint } : {}) };
  }

  /**
   * An issue for a field. `key`: point at the key (unknown keys); `value`: at a scalar value, or
   * at the key of a collection value. A path that does not exist (missing field) points at the
   * deepest mapping that does, by its key when it has one.
   */
  issue(path: readonly PropertyKey[], mode: 'key' | 'value', message: string, hint?: string): RecipeIssue {
    const found = this.find(path);
    let node: Node | null | undefined;
    if (!found.complete) node = found.key ?? found.node;
    else if (mode === 'key') node = found.key ?? found.node;
    else node = isScalar(found.node) && found.node.value !== null ? found.node : (found.key ?? found.node);
    const offset = node?.range?.[0] ?? this.doc.contents?.range?.[0] ?? 0;
    return this.offset(offset, formatPath(path), message, hint);
  }

  private find(path: readonly PropertyKey[]): { complete: boolean; node?: Node | null; key?: Node } {
    let node = this.doc.contents as Node | null;
    let key: Node | undefined;
    for (const seg of path) {
      if (isAlias(node)) node = (node.resolve(this.doc) as Node | undefined) ?? null;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return { complete: false, node, key };
        key = pair.key as Node;
        node = pair.value as Node | null;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        node = node.items[seg] as Node;
        key = undefined;
      } else {
        return { complete: false, node, key };
      }
    }
    return { complete: true, node, key };
  }
}

/**
 * Walks the document and reports what plain data never needs: explicit non-core tags,
 * complex or reserved keys, duplicate keys, unknown or self-referencing anchors, too many aliases.
 */
function unsafeNodes(doc: Document, at: Locator): RecipeIssue[] {
  const issues: RecipeIssue[] = [];
  const anchors = new Set<string>();
  let aliases = 0;
  const here = (node: Node, path: Seg[], message: string, hint?: string) => issues.push(at.offset(node.range?.[0] ?? 0, formatPath(path), message, hint));

  const walk = (node: unknown, path: Seg[]): void => {
    if (isAlias(node)) {
      aliases++;
      if (aliases === MAX_ALIASES + 1) here(node, path, `more than ${MAX_ALIASES} aliases`, 'write the values out; large alias expansions are refused');
      else if (!anchors.has(node.source)) here(node, path, `alias *${node.source} refers to no earlier anchor`);
      return;
    }
    if (!isMap(node) && !isSeq(node) && !isScalar(node)) return;
    if (node.tag && !CORE_TAGS.has(node.tag)) here(node, path, `YAML tag ${node.tag} is not allowed`, 'recipes are plain data; remove the tag');
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        if (!isScalar(pair.key)) {
          here((pair.key as Node | null) ?? node, path, 'keys must be plain names, not lists or mappings');
          continue;
        }
        const name = String(pair.key.value);
        const keyPath = [...path, name];
        if (pair.key.tag && !CORE_TAGS.has(pair.key.tag)) here(pair.key, keyPath, `YAML tag ${pair.key.tag} is not allowed`);
        if (name === '__proto__' || name === 'constructor' || name === 'prototype') here(pair.key, keyPath, `reserved key "${name}"`);
        else if (seen.has(name)) here(pair.key, keyPath, `duplicate key "${name}"`, 'each key may appear once per mapping');
        seen.add(name);
        walk(pair.value, keyPath);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
    // Registered after the children, so an alias inside its own anchor (a cycle) is refused.
    if (node.anchor) anchors.add(node.anchor);
  };
  walk(doc.contents, []);
  return issues;
}

// ---------------------------------------------------------------------------------------------
// zod issues → recipe issues

type ZodIssue = z.core.$ZodIssue;

function schemaIssues(issue: ZodIssue, data: unknown, at: Locator): RecipeIssue[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (issue.code === 'unrecognized_keys') {
    const known = objectKeysAt(RecipeSchema, path, data);
    return issue.keys.map((k) => {
      const guess = closest(k, known);
      return at.issue([...path, k], 'key', 'unknown key', guess ? `did you mean "${guess}"?` : known.length ? `known keys: ${known.join(', ')}` : undefined);
    });
  }
  const value = valueAt(data, path);
  return [at.issue(path, 'value', messageFor(issue, value))];
}

function messageFor(issue: ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return `missing required field (expected ${typeName(issue.expected)})`;
      return `expected ${typeName(issue.expected)}, got ${show(value)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${show(value)})`;
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        const options = (issue as { options?: unknown[] }).options ?? [];
        const list = options.map((v) => JSON.stringify(v)).join(', ');
        return value === undefined ? `missing "${issue.discriminator}": one of ${list}` : `must be one of ${list} (got ${show(value)})`;
      }
      return issue.message;
    case 'invalid_format':
      return `invalid ${show(value)}: expected ${issue.message}`;
    case 'too_small':
      return bound(issue.origin, issue.inclusive ?? true, Number(issue.minimum), 'min', value);
    case 'too_big':
      return bound(issue.origin, issue.inclusive ?? true, Number(issue.maximum), 'max', value);
    default:
      return issue.message;
  }
}

function bound(origin: string, inclusive: boolean, n: number, side: 'min' | 'max', value: unknown): string {
  if (origin === 'array' || origin === 'set') {
    return side === 'min' ? `must have at least ${n} item${n === 1 ? '' : 's'}` : `must have at most ${n} item${n === 1 ? '' : 's'}`;
  }
  if (origin === 'string') return side === 'min' ? (n === 1 ? 'must not be empty' : `must have at least ${n} characters`) : `must have at most ${n} characters`;
  const op = side === 'min' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
  return `must be ${op} ${n} (got ${show(value)})`;
}

function typeName(expected: string): string {
  return expected === 'int' ? 'an integer' : expected === 'array' || expected === 'tuple' ? 'a list' : expected === 'object' ? 'a mapping' : `a ${expected}`;
}

function show(value: unknown): string {
  if (value === null) return 'null (empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

function valueAt(data: unknown, path: readonly Seg[]): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Object.prototype.hasOwnProperty.call(cur, seg) ? (cur as Record<Seg, unknown>)[seg] : undefined;
  }
  return cur;
}

/** What this module needs of a zod schema's definition (zod 4 keeps it on `_zod.def`). */
interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
}

const defOf = (s: z.ZodType) => s._zod.def as unknown as Def;

function unwrap(s: z.ZodType): z.ZodType {
  for (;;) {
    const d = defOf(s);
    if (d.innerType && ['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

/** The variant of a discriminated union that `data` selects, or all variants when none does. */
function variants(s: z.ZodType, data: unknown): z.ZodType[] {
  const d = defOf(s);
  const options = d.options ?? [];
  if (d.discriminator && data && typeof data === 'object') {
    const tag = (data as Record<string, unknown>)[d.discriminator];
    const hit = options.find((o) => defOf(defOf(unwrap(o)).shape?.[d.discriminator!] ?? o).values?.includes(tag));
    if (hit) return [hit];
  }
  return options;
}

/** The keys the schema allows for the mapping at `path`, for "did you mean" hints. */
function objectKeysAt(root: z.ZodType, path: readonly Seg[], data: unknown): string[] {
  let schemas = [root];
  let cur = data;
  for (const seg of [...path, null]) {
    const next: z.ZodType[] = [];
    for (const s0 of schemas) {
      const s = unwrap(s0);
      const d = defOf(s);
      const candidates = d.type === 'union' ? variants(s, cur).map(unwrap) : [s];
      for (const c of candidates) {
        const cd = defOf(c);
        if (seg === null) {
          if (cd.shape) next.push(c);
        } else if (cd.shape && typeof seg === 'string' && cd.shape[seg]) next.push(cd.shape[seg]);
        else if (cd.element && typeof seg === 'number') next.push(cd.element);
      }
    }
    if (seg === null) return [...new Set(next.flatMap((s) => Object.keys(defOf(s).shape ?? {})))];
    schemas = next;
    cur = valueAt(cur, [seg]);
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// normalise + rules

/** How a path field is checked: existence (of what) or not at all (outputs, tiny-model target). */
type Need = 'any' | 'file' | 'dir' | 'none';

function normalise(input: Recipe, dir: string, opts: LoadOptions, at: Locator): Recipe {
  const recipe = structuredClone(input);
  const issues: RecipeIssue[] = [];
  const abs = (p: string) => resolve(dir, p);

  recipe.allowed_roots = recipe.allowed_roots.map(abs);
  const repoRoot = resolve(opts.repoRoot ?? REPO_ROOT);
  const roots = [dir, ...(inside(real(dir), real(repoRoot)) ? [repoRoot] : []), ...recipe.allowed_roots];
  const realRoots = roots.map(real);
  // The validated recipe lists every root in effect, so the workers apply the same rule to the
  // paths they meet in the data (image paths in seed rows).
  recipe.allowed_roots = [...new Set(roots)];

  const check = (path: Seg[], value: string, need: Need): string => {
    const p = abs(value);
    if (!realRoots.some((r) => inside(real(p), r))) {
      issues.push(at.issue(path, 'value', `path ${JSON.stringify(value)} resolves to ${p}, outside the allowed roots`, `allowed: ${roots.join(', ')}; add a folder to allowed_roots to use it`));
      return p;
    }
    if (opts.checkFiles === false || need === 'none') return p;
    const hint = isAbsolute(value) ? undefined : `relative paths are resolved against the recipe's folder ${dir}`;
    if (!existsSync(p)) issues.push(at.issue(path, 'value', `${need === 'dir' ? 'folder' : need === 'file' ? 'file' : 'path'} not found: ${p}`, hint));
    else if (need === 'file' && !statSync(p).isFile()) issues.push(at.issue(path, 'value', `expected a file, got a folder: ${p}`));
    else if (need === 'dir' && !statSync(p).isDirectory()) issues.push(at.issue(path, 'value', `expected a folder, got a file: ${p}`));
    return p;
  };

  recipe.runs_dir = check(['runs_dir'], recipe.runs_dir, 'none');
  recipe.model.base = check(['model', 'base'], recipe.model.base, recipe.model.build_tiny ? 'none' : 'any');
  recipe.data.sources.forEach((s, i) => {
    s.path = check(['data', 'sources', i, 'path'], s.path, 'any');
    if (s.image_root !== undefined) s.image_root = check(['data', 'sources', i, 'image_root'], s.image_root, 'dir');
  });
  recipe.data.synthetic.output_dir = check(['data', 'synthetic', 'output_dir'], recipe.data.synthetic.output_dir, 'none');
  if (recipe.verifier.template !== undefined) recipe.verifier.template = check(['verifier', 'template'], recipe.verifier.template, 'file');
  for (const k of ['feedback_template', 'reference_feedback_template', 'refine_template'] as const) {
    const v = recipe.reviser[k];
    if (v !== undefined) recipe.reviser[k] = check(['reviser', k], v, 'file');
  }
  recipe.eval.benchmarks.forEach((b, i) => {
    b.path = check(['eval', 'benchmarks', i, 'path'], b.path, 'file');
  });

  if (recipe.data.sources.length === 0 && !recipe.data.synthetic.enabled) {
    issues.push(at.issue(['data', 'sources'], 'value', 'no seed data: list at least one source', 'or set data.synthetic.enabled: true'));
  }
  if (issues.length) throw new RecipeError(issues);
  return recipe;
}

/** The real path of `p`, or of its deepest existing ancestor joined with the rest (symlinks cannot escape a root). */
function real(p: string): string {
  const rest: string[] = [];
  let cur = resolve(p);
  for (;;) {
    try {
      return resolve(realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return resolve(p);
      rest.push(cur.slice(parent.length).replace(/^[\\/]+/, ''));
      cur = parent;
    }
  }
}

function inside(p: string, root: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
