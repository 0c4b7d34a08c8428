/**
 * Reading a zod schema's structure alongside the data it validates: which schema describes the
 * value at a path, and which keys a mapping allows. The recipe loader uses it for "did you mean"
 * hints and to find the path fields, so neither restates the schema's keys.
 */
import type { z } from 'zod';

export type Seg = string | number;

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

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

export const defOf = (s: z.ZodType): Def => s._zod.def as unknown as Def;

/** One layer less of wrapping (defaults, optionals, pipes), or `s` itself when there is none. */
export function unwrapOnce(s: z.ZodType): z.ZodType {
  const d = defOf(s);
  if (d.innerType && WRAPPERS.has(d.type)) return d.innerType;
  if (d.type === 'pipe' && d.in) return d.in;
  return s;
}

/** The schema under every wrapper. */
export function unwrap(s: z.ZodType): z.ZodType {
  for (let next = unwrapOnce(s); next !== s; next = unwrapOnce(s)) s = next;
  return s;
}

/** The variant of a discriminated union that `data` selects, or all variants when none does. */
export function variants(s: z.ZodType, data: unknown): z.ZodType[] {
  const d = defOf(s);
  const options = d.options ?? [];
  if (d.discriminator && data && typeof data === 'object') {
    const tag = (data as Record<string, unknown>)[d.discriminator];
    const hit = options.find((o) => defOf(defOf(unwrap(o)).shape?.[d.discriminator!] ?? o).values?.includes(tag));
    if (hit) return [hit];
  }
  return options;
}

/** The unwrapped schemas `s` may be for `data`: the union variants it selects, or `s` itself. */
export function candidates(s: z.ZodType, data: unknown): z.ZodType[] {
  const u = unwrap(s);
  return defOf(u).type === 'union' ? variants(u, data).map(unwrap) : [u];
}

/** The schemas of the child `seg` of a value that `s` describes (object key or list index). */
export function childSchemas(s: z.ZodType, data: unknown, seg: Seg): z.ZodType[] {
  const out: z.ZodType[] = [];
  for (const c of candidates(s, data)) {
    const d = defOf(c);
    if (d.shape && typeof seg === 'string' && d.shape[seg]) out.push(d.shape[seg]);
    else if (d.element && typeof seg === 'number') out.push(d.element);
  }
  return out;
}

/** The value at `path` in plain data, or undefined. */
export function valueAt(data: unknown, path: readonly Seg[]): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Object.prototype.hasOwnProperty.call(cur, seg) ? (cur as Record<Seg, unknown>)[seg] : undefined;
  }
  return cur;
}

/** The keys the schema allows for the mapping at `path` of `data`. */
export function objectKeysAt(root: z.ZodType, path: readonly Seg[], data: unknown): string[] {
  let schemas = [root];
  for (let i = 0; i < path.length; i++) {
    const here = valueAt(data, path.slice(0, i));
    schemas = schemas.flatMap((s) => childSchemas(s, here, path[i]));
  }
  const here = valueAt(data, path);
  const shapes = schemas.flatMap((s) => candidates(s, here)).filter((c) => defOf(c).shape);
  return [...new Set(shapes.flatMap((s) => Object.keys(defOf(s).shape ?? {})))];
}
