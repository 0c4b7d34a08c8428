/**
 * zod's validation issues as recipe issues: each located at its key or value, worded for a
 * person ("must be >= 0 (got -1)"), an unknown key with the closest known key as a hint, and a
 * setting that moved out of the recipe with where it went.
 */
import type { z } from 'zod';
import { closest, formatPath, type RecipeIssue } from './errors.js';
import type { Locator } from './locator.js';
import { MOVED_SETTINGS } from './moved.js';
import { objectKeysAt, valueAt } from './schema-walk.js';

type ZodIssue = z.core.$ZodIssue;

/** The recipe issues of one zod issue about `data`, validated against `schema`. */
export function schemaIssues(issue: ZodIssue, schema: z.ZodType, data: unknown, at: Locator): RecipeIssue[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (issue.code === 'unrecognized_keys') {
    const known = objectKeysAt(schema, path, data);
    return issue.keys.map((k) => {
      const moved = MOVED_SETTINGS[formatPath([...path, k])];
      if (moved) return at.issue([...path, k], 'key', 'no longer a recipe setting', moved);
      const guess = closest(k, known) ?? initialsOf(k, known);
      return at.issue(
        [...path, k],
        'key',
        'unknown key',
        guess ? `did you mean "${guess}"?` : known.length ? `known keys: ${known.join(', ')}` : undefined,
      );
    });
  }
  const value = valueAt(data, path);
  return [at.issue(path, 'value', messageFor(issue, value))];
}

/** The one known key whose words' initials spell `k` ("lr" → learning_rate, "bs" → batch_size), if exactly one does. */
function initialsOf(k: string, known: readonly string[]): string | undefined {
  const hits = known.filter(
    (c) =>
      c.includes('_') &&
      c
        .split('_')
        .map((w) => w[0])
        .join('') === k.toLowerCase(),
  );
  return hits.length === 1 ? hits[0] : undefined;
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
        return value === undefined
          ? `missing "${issue.discriminator}": one of ${list}`
          : `must be one of ${list} (got ${show(value)})`;
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
    return side === 'min'
      ? `must have at least ${n} item${n === 1 ? '' : 's'}`
      : `must have at most ${n} item${n === 1 ? '' : 's'}`;
  }
  if (origin === 'string')
    return side === 'min'
      ? n === 1
        ? 'must not be empty'
        : `must have at least ${n} characters`
      : `must have at most ${n} characters`;
  const op = side === 'min' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
  return `must be ${op} ${n} (got ${show(value)})`;
}

function typeName(expected: string): string {
  return expected === 'int'
    ? 'an integer'
    : expected === 'array' || expected === 'tuple'
      ? 'a list'
      : expected === 'object'
        ? 'a mapping'
        : `a ${expected}`;
}

function show(value: unknown): string {
  if (value === null) return 'null (empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}
