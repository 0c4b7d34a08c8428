/**
 * Typed recipe errors. Loading a recipe goes parse → normalise → rules, and every step reports
 * `RecipeIssue`s with the position of the offending YAML key or value, so a user sees all the
 * problems of a file at once, each as `recipes/x.yaml:12:5 sampling.tempreature: unknown key
 * (did you mean "temperature"?)`.
 */
import { ExitCode, IpaError } from '../errors.js';
import { escapeUnsafe } from '../unsafe-text.js';

/** One problem in a recipe, located in its source. */
export interface RecipeIssue {
  /** The recipe file as the user named it. */
  file: string;
  /** 1-based line of the offending key or value (the parent mapping for a missing field). */
  line: number;
  /** 1-based column. */
  column: number;
  /** Dotted field path, e.g. `sampling.temperature` or `data.sources[0].path`; empty for the whole file. */
  path: string;
  message: string;
  /** A suggestion, printed in parentheses after the message. */
  hint?: string;
}

/**
 * A recipe that cannot be used. It is an `IpaError` with exit code 3 (invalid input), so any
 * command that loads a recipe prints the issues instead of a stack trace.
 */
export class RecipeError extends IpaError {
  readonly issues: readonly RecipeIssue[];

  constructor(issues: readonly RecipeIssue[]) {
    const sorted = [...issues].sort(compareIssues);
    super(formatIssues(sorted), ExitCode.invalidInput);
    this.name = 'RecipeError';
    this.issues = sorted;
  }
}

/** An issue about the whole file, reported at its start. */
export function fileIssue(file: string, message: string, hint?: string): RecipeIssue {
  return { file, line: 1, column: 1, path: '', message, ...(hint ? { hint } : {}) };
}

function compareIssues(a: RecipeIssue, b: RecipeIssue): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.path.localeCompare(b.path);
}

/**
 * `file:line:column path: message (hint)`; the path part is left out for file-level issues. What
 * the recipe wrote is echoed in messages: bidirectional controls and unpaired surrogates in it
 * are escaped (`\u202e`), so the line on screen is the line that was checked.
 */
export function formatIssue(issue: RecipeIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  const what = issue.path ? `${issue.path}: ${issue.message}` : issue.message;
  return escapeUnsafe(`${where} ${what}${issue.hint ? ` (${issue.hint})` : ''}`);
}

/** One formatted issue per line. */
export function formatIssues(issues: readonly RecipeIssue[]): string {
  return issues.map(formatIssue).join('\n');
}

/** `['data', 'sources', 0, 'path']` → `data.sources[0].path`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean" hints. */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word`, when it is close enough to be a plausible typo: at most a
 * third of the longer word's length (and at least `minAllowed` edits, 1 unless given). Ties go to
 * the first candidate.
 */
export function closest(word: string, candidates: Iterable<string>, minAllowed = 1): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(minAllowed, Math.floor(Math.max(word.length, best.length) / 3));
  return bestDistance <= allowed ? best : undefined;
}
