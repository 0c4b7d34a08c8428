/**
 * From a recipe file to plain data: read it (size cap), decode it (strict UTF-8), parse the
 * YAML keeping node positions, and refuse what plain data never needs. Nothing in a recipe is
 * ever executed: custom tags are refused, aliases are capped (no billion-laughs expansion) and
 * only plain data comes out. Every problem is a `RecipeIssue` at its line and column.
 */
import { readFileSync, statSync } from 'node:fs';
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
} from 'yaml';
import { fileIssue, formatPath, RecipeError, type RecipeIssue } from './errors.js';
import { Locator } from './locator.js';
import type { Seg } from './schema-walk.js';

/** Larger files are refused before parsing: a recipe is a page of settings, not data. */
export const MAX_RECIPE_BYTES = 1024 * 1024;
/** Aliases allowed in one recipe; enough for sharing a block or two, too few for an expansion bomb. */
export const MAX_ALIASES = 16;
/** Tags of the YAML core schema; any other explicit tag is refused. */
const CORE_TAGS = new Set(['map', 'seq', 'str', 'int', 'float', 'bool', 'null'].map((t) => `tag:yaml.org,2002:${t}`));

/** The recipe's text; throws `RecipeError` when it cannot be read, is too large or is not UTF-8. */
export function readRecipeFile(file: string): string {
  let bytes: Buffer;
  try {
    if (statSync(file).size > MAX_RECIPE_BYTES)
      throw new RecipeError([fileIssue(file, `recipe is larger than ${MAX_RECIPE_BYTES} bytes`)]);
    bytes = readFileSync(file);
  } catch (err) {
    if (err instanceof RecipeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file' : (err as Error).message;
    throw new RecipeError([fileIssue(file, `cannot read recipe: ${why}`)]);
  }
  return decodeUtf8(bytes, file);
}

export interface ParsedSource {
  /** The recipe as plain data (a mapping), before validation. */
  data: unknown;
  /** Positions of its keys and values, for issues. */
  at: Locator;
}

/** Parses recipe text into plain data; `file` names it in issues. Throws `RecipeError`. */
export function parseSource(text: string, file: string): ParsedSource {
  if (text.length > MAX_RECIPE_BYTES)
    throw new RecipeError([fileIssue(file, `recipe is larger than ${MAX_RECIPE_BYTES} bytes`)]);
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (source.trim() === '')
    throw new RecipeError([fileIssue(file, 'recipe is empty', 'a recipe needs at least `name` and `model.base`')]);

  const lineCounter = new LineCounter();
  // uniqueKeys is off so that duplicates are reported by our own walk, which knows their path.
  const doc = parseDocument(source, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: false,
    version: '1.2',
    schema: 'core',
  });
  const at = new Locator(doc, lineCounter, file);

  const syntax = [
    ...doc.errors.map((e) =>
      at.offset(
        e.pos[0],
        '',
        e.code === 'MULTIPLE_DOCS'
          ? 'a recipe is a single YAML document (found a second `---`)'
          : `YAML syntax error: ${e.message}`,
      ),
    ),
    ...doc.warnings
      .filter((w) => w.code !== 'TAG_RESOLVE_FAILED')
      .map((w) => at.offset(w.pos[0], '', `YAML: ${w.message}`)),
    ...unsafeNodes(doc, at),
  ];
  if (syntax.length) throw new RecipeError(syntax);
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new RecipeError([
      fileIssue(file, 'recipe is empty (only comments)', 'a recipe needs at least `name` and `model.base`'),
    ]);
  }
  if (!isMap(doc.contents)) {
    const got = isSeq(doc.contents) ? 'a list' : 'a single value';
    throw new RecipeError([at.issue([], 'value', `a recipe is a mapping of settings (key: value), got ${got}`)]);
  }
  return { data: toPlainData(doc, at), at };
}

/** Aliases resolved in all (nested ones counted each time): past this, a chain of aliases is an expansion bomb. */
export const MAX_ALIAS_EXPANSION = 100;

/**
 * The document as plain data. The alias cap counts alias nodes; a chain of them (an anchor holding
 * aliases of an anchor holding aliases...) can stay under it and still expand exponentially, which
 * yaml refuses with a ReferenceError: that becomes an issue at the first alias.
 */
function toPlainData(doc: Document, at: Locator): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    let first: Node | undefined;
    visit(doc, { Alias: (_key, node) => void (first ??= node) });
    throw new RecipeError([
      at.offset(
        first?.range?.[0] ?? 0,
        '',
        `aliases expand to more than ${MAX_ALIAS_EXPANSION} values (aliases of anchors that hold aliases)`,
        'write the values out; a recipe may share a block by alias, not build one from chains of them',
      ),
    ]);
  }
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
    throw new RecipeError([
      {
        file,
        line: lines.length,
        column: lines[lines.length - 1].length + 1,
        path: '',
        message: `recipe is not valid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')} at offset ${bad})`,
        hint: 'save the file as UTF-8',
      },
    ]);
  }
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
    if (
      (c === 0xe0 && d1 < 0xa0) ||
      (c === 0xed && d1 > 0x9f) ||
      (c === 0xf0 && d1 < 0x90) ||
      (c === 0xf4 && d1 > 0x8f)
    )
      return i;
    i += n + 1;
  }
  return Math.max(0, b.length - 1);
}

/**
 * Walks the document and reports what plain data never needs: explicit non-core tags,
 * complex or reserved keys, duplicate keys, unknown or self-referencing anchors, too many aliases.
 */
function unsafeNodes(doc: Document, at: Locator): RecipeIssue[] {
  const issues: RecipeIssue[] = [];
  const anchors = new Set<string>();
  let aliases = 0;
  const here = (node: Node, path: Seg[], message: string, hint?: string) =>
    issues.push(at.offset(node.range?.[0] ?? 0, formatPath(path), message, hint));

  const walk = (node: unknown, path: Seg[]): void => {
    if (isAlias(node)) {
      aliases++;
      if (aliases === MAX_ALIASES + 1)
        here(
          node,
          path,
          `more than ${MAX_ALIASES} aliases`,
          'write the values out; large alias expansions are refused',
        );
      else if (!anchors.has(node.source)) here(node, path, `alias *${node.source} refers to no earlier anchor`);
      return;
    }
    if (!isMap(node) && !isSeq(node) && !isScalar(node)) return;
    if (node.tag && !CORE_TAGS.has(node.tag))
      here(node, path, `YAML tag ${node.tag} is not allowed`, 'recipes are plain data; remove the tag');
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
        if (pair.key.tag && !CORE_TAGS.has(pair.key.tag))
          here(pair.key, keyPath, `YAML tag ${pair.key.tag} is not allowed`);
        if (name === '__proto__' || name === 'constructor' || name === 'prototype')
          here(pair.key, keyPath, `reserved key "${name}"`);
        else if (seen.has(name))
          here(pair.key, keyPath, `duplicate key "${name}"`, 'each key may appear once per mapping');
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
