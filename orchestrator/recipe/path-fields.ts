/**
 * Which recipe fields are paths, and what must exist there. `schema.ts` declares each path field
 * with `pathField(need)`; `findPathFields` walks the schema beside a recipe's data and returns
 * every path field present, so the loader resolves and checks them without a list of its own.
 */
import { z } from 'zod';
import { firstUnsafe } from '../unsafe-text.js';
import { candidates, childSchemas, defOf, unwrapOnce, type Seg } from './schema-walk.js';

/**
 * What must exist at a path: a file, a folder, either, or nothing (outputs, generated inputs).
 * `roots` marks a list of folders that are allowed roots themselves: resolved, never checked.
 */
export type PathNeed = 'file' | 'dir' | 'any' | 'none' | 'roots';

export interface PathRule {
  need: PathNeed;
  /**
   * A boolean field beside this one that, when true, means ipa creates the path, so it need not
   * exist yet (`model.build_tiny`).
   */
  createdWhen?: string;
  /**
   * The field takes a name or a path (an lmms-eval task: `pope`, or `tasks/mine.yaml`): only a
   * value that looks like a path (`looksLikePath`) is a path and follows the rules.
   */
  orName?: boolean;
  /**
   * A file the user writes next to the recipe (a prompt template, a task YAML), not one a download
   * fills: `ipa validate --offline` still requires it.
   */
  local?: boolean;
}

/** Whether a name-or-path value is a path: it has a folder separator, starts with `.` or `~`, or names a YAML file. */
export function looksLikePath(value: string): boolean {
  return /[\\/]/.test(value) || /^[.~]/.test(value) || /\.ya?ml$/i.test(value);
}

/** Path fields by schema; the clones `.describe()` makes inherit their entry. */
const PATH_RULES = z.registry<PathRule>();

/**
 * The text of a path as written in the recipe (resolved relative to the recipe's folder when
 * loaded). A NUL byte ends a path for the operating system (Node refuses it), so it must never get
 * that far; a bidirectional control or an unpaired surrogate would make the path on screen differ
 * from the path used (unsafe-text.ts): each is refused where it is written, and the message shows
 * it escaped.
 */
function pathText(): z.ZodString {
  return z
    .string()
    .min(1)
    .superRefine((s, ctx) => {
      if (s.includes('\0')) ctx.addIssue({ code: 'custom', message: 'a path cannot contain a NUL byte (\\0)' });
      const bad = firstUnsafe(s);
      if (bad)
        ctx.addIssue({
          code: 'custom',
          message: `a path cannot contain a bidirectional control character or an unpaired surrogate (${bad.escaped} at character ${bad.at}): what is shown would not be the path used`,
        });
    });
}

export function pathField(need: Exclude<PathNeed, 'roots'>, opts: Omit<PathRule, 'need'> = {}): z.ZodString {
  const s = pathText();
  PATH_RULES.add(s, { need, ...opts });
  return s;
}

/** A list of folders recipe paths may point into, besides the recipe's own. */
export function rootsField(): z.ZodArray<z.ZodString> {
  const s = z.array(pathText());
  PATH_RULES.add(s, { need: 'roots' });
  return s;
}

export interface FoundPath {
  path: Seg[];
  /** A path, or the folders of a `roots` list. */
  value: string | string[];
  /** The rule, with `createdWhen` already applied (need `none` when the flag is set). */
  rule: PathRule;
}

function ruleOf(s: z.ZodType): PathRule | undefined {
  for (let cur = s; ;) {
    const rule = PATH_RULES.get(cur);
    if (rule) return rule;
    const next = unwrapOnce(cur);
    if (next === cur) return undefined;
    cur = next;
  }
}

/** Every path field set in `data`, in schema order. */
export function findPathFields(schema: z.ZodType, data: unknown): FoundPath[] {
  const found: FoundPath[] = [];
  const walk = (s: z.ZodType, value: unknown, path: Seg[], parent: unknown): void => {
    if (value === undefined) return;
    const rule = ruleOf(s);
    if (rule) {
      const ok =
        rule.need === 'roots'
          ? Array.isArray(value) && value.every((v) => typeof v === 'string')
          : typeof value === 'string';
      if (!ok) return;
      const created =
        rule.createdWhen !== undefined && (parent as Record<string, unknown> | undefined)?.[rule.createdWhen] === true;
      found.push({ path, value: value as string | string[], rule: created ? { need: 'none' } : rule });
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => childSchemas(s, value, i).forEach((c) => walk(c, item, [...path, i], value)));
    } else if (value !== null && typeof value === 'object') {
      const keys = new Set(candidates(s, value).flatMap((c) => Object.keys(defOf(c).shape ?? {})));
      for (const k of keys)
        childSchemas(s, value, k).forEach((c) => walk(c, (value as Record<string, unknown>)[k], [...path, k], value));
    }
  };
  walk(schema, data, [], undefined);
  return found;
}
