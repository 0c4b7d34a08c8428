/**
 * The bad-input corpus: every malformed recipe through the CLI (`ipa validate`, exit code 3, one
 * `file:line:column path: message` line per problem, no stack trace), and malformed seed data
 * through the real `prepare` stage in a Python process: a bad row is rejected alone with its
 * reason (the good rows are kept), a source with no usable row is one clear BadInput.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PythonError, PythonProcess } from '../../orchestrator/bridge/python-process.js';
import { main } from '../../orchestrator/cli/main.js';
import { RecipeError } from '../../orchestrator/recipe/errors.js';
import { loadRecipe } from '../../orchestrator/recipe/load.js';
import { REPO } from '../helpers/harness.js';
import { runPrepare } from './prepare-stage.js';

const BAD_RECIPES = join(REPO, 'test', 'fixtures', 'recipes', 'bad');
const BAD_INPUTS = join(REPO, 'test', 'fixtures', 'bad-inputs');
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

/** Runs `ipa <argv>` in this process; returns the exit code and everything printed. */
async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const grab = (...a: unknown[]) => void lines.push(a.map(String).join(' '));
  const e = vi.spyOn(console, 'error').mockImplementation(grab);
  const l = vi.spyOn(console, 'log').mockImplementation(grab);
  try {
    return { code: await main(argv), out: lines.join('\n') };
  } finally {
    e.mockRestore();
    l.mockRestore();
  }
}

const recipes = readdirSync(BAD_RECIPES).sort();

/** Seed-row cases: file under rows/ → what the rejection reason must say. */
const rowCases: Record<string, RegExp> = {
  'missing-image.jsonl': /image file not found/,
  'truncated-image.jsonl': /truncated image data|corrupt image data/,
  'corrupt-image.jsonl': /corrupt image data|not an image/,
  'zero-byte-image.jsonl': /image file is empty/,
  'dimension-bomb.jsonl': /60000x60000, larger than max_image_side 8192|decompression bomb/,
  'not-an-image.jsonl': /not an image/,
  'image-is-folder.jsonl': /not a regular file/,
  'image-path-escape.jsonl': /outside/,
  'image-absolute-outside.jsonl': /outside|not an image/,
  'bad-base64-image.jsonl': /not valid base64/,
  'empty-image-list.jsonl': /image list is empty/,
  'no-image.jsonl': /image is missing/,
  'no-reference.jsonl': /reference is missing/,
  'no-instruction.jsonl': /instruction is missing/,
  'blank-instruction.jsonl': /instruction is empty/,
  'overlong-instruction.jsonl': /instruction is \d+ characters, longer than max_instruction_chars 4000/,
  'non-utf8-text.jsonl': /not valid UTF-8 \(byte \d+\)/,
  'lone-surrogate.jsonl': /not valid UTF-8 \(unpaired surrogate\)/,
  'malformed-json.jsonl': /invalid JSON: .+ at column \d+/,
  'row-not-object.jsonl': /row is not a JSON object/,
  // Issue 25, finding 10: rows the parser refuses for their size are one bad row, not a failed source.
  'deeply-nested.jsonl': /invalid JSON: nested too deeply/,
  'huge-number.jsonl': /invalid JSON: Exceeds the limit \(4300 digits\) for integer string conversion/,
  'instruction-not-text.jsonl': /instruction is not text \(dict\)/,
  'duplicate-id.jsonl': /duplicate id 'dup'/,
  // What the Qwen2-VL processor refuses (issue 14, finding 5): rejected here, not mid-run.
  'extreme-aspect.jsonl':
    /wide-4000x10\.png: aspect ratio 400:1 \(4000x10\) is over the Qwen2-VL processor's limit of 200:1/,
  'animated-image.jsonl': /animated\.gif: image has 2 frames \(an animation or a multi-page file\)/,
  'deep-image.jsonl': /deep-16bit\.png: pixel mode I;16 \(16-bit per pixel\) would be clipped/,
};

/** Sources that give no usable seed at all: the job fails with one BadInput saying so. */
const sourceCases: Record<string, { format?: string; message: RegExp }> = {
  'empty-dataset.jsonl': { message: /no usable seed in any source \(0 rows rejected\)/ },
  'all-bad.jsonl': {
    message:
      /no usable seed in any source \(2 rows rejected: all-bad:1: image unusable: .*image file is empty; all-bad:2: invalid JSON/,
  },
  'sharegpt-not-json.json': {
    format: 'sharegpt',
    message: /sharegpt source .*sharegpt-not-json\.json is not a UTF-8 JSON file/,
  },
  // A corrupt Parquet page: bad input (never retried), not an internal error.
  'corrupt-page.parquet': {
    format: 'parquet',
    message: /parquet file .*corrupt-page\.parquet is corrupt after row 0: /,
  },
};

describe('bad-input corpus', () => {
  it('counts at least 50 bad inputs', () => {
    const rows = readdirSync(join(BAD_INPUTS, 'rows')).filter((f) => f !== 'good.jsonl');
    expect(Object.keys(rowCases).length + Object.keys(sourceCases).length + 1).toBe(rows.length); // +1: mixed.jsonl
    expect(recipes.length + rows.length + 1).toBeGreaterThanOrEqual(50); // +1: the image deleted mid-run
  });

  describe('malformed recipes through `ipa validate`', () => {
    it.each(recipes)('%s: exit code 3, file:line:column and field path, no stack trace', async (file) => {
      const path = join(BAD_RECIPES, file);
      const { code, out } = await cli(['validate', path]);
      expect(code).toBe(3);
      expect(out).not.toMatch(STACK);
      let issues: RecipeError['issues'] = [];
      try {
        loadRecipe(path);
      } catch (err) {
        issues = (err as RecipeError).issues;
      }
      expect(issues.length).toBeGreaterThan(0);
      for (const i of issues)
        expect(out).toContain(`${path}:${i.line}:${i.column} ${i.path ? `${i.path}: ` : ''}${i.message}`);
      for (const line of out.split('\n')) expect(line).toMatch(/^.+\.yaml:\d+:\d+ \S/);
    });

    // The same contract as a real process: what a shell sees, stderr included.
    it.each(['custom-tag.yaml', 'non-utf8.yaml', 'alias-bomb.yaml'])(
      '%s as a process: exit code 3, no stack trace',
      (file) => {
        const r = spawnSync(
          process.execPath,
          ['--import', 'tsx', join(REPO, 'orchestrator', 'cli', 'main.ts'), 'validate', join(BAD_RECIPES, file)],
          { cwd: REPO, encoding: 'utf8' },
        );
        expect(r.status).toBe(3);
        expect(r.stderr).toMatch(/\.yaml:\d+:\d+ /);
        expect(r.stderr + r.stdout).not.toMatch(STACK);
      },
    );
  });

  describe('malformed seed data through the prepare stage', () => {
    let work: string;
    let py: PythonProcess;
    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'ipa-bad-input-'));
      // recipe/ is the only allowed root besides the model's folder; outside/ holds a real image beyond it.
      cpSync(BAD_INPUTS, join(work, 'recipe', 'data'), { recursive: true });
      mkdirSync(join(work, 'outside'));
      cpSync(join(BAD_INPUTS, 'images', 'good.png'), join(work, 'outside', 'secret.png'));
      py = await PythonProcess.start({});
    });
    afterAll(async () => {
      await py?.close({ graceMs: 5000 });
      rmSync(work, { recursive: true, force: true });
    });

    const prepare = (name: string, sources: Array<{ path: string; format?: string }>) =>
      runPrepare(py, join(work, 'recipe'), name, sources);

    it.each(Object.entries(rowCases))(
      '%s: the row is rejected with its reason, the good rows are kept',
      async (file, reason) => {
        const stem = file.replace(/\.jsonl$/, '');
        const { seeds, rejected } = await prepare(stem, [
          { path: 'data/rows/good.jsonl' },
          { path: `data/rows/${file}` },
        ]);
        expect(seeds.map((s) => s.id).sort()).toEqual(
          file === 'duplicate-id.jsonl' ? ['dup', 'good-1', 'good-2'] : ['good-1', 'good-2'],
        );
        expect(rejected).toHaveLength(1);
        expect(rejected[0]).toMatchObject({ source: stem, line: file === 'duplicate-id.jsonl' ? 2 : 1 });
        expect(rejected[0].reason).toMatch(reason);
        expect(rejected[0].reason).not.toMatch(/Traceback|File ".*", line/);
      },
    );

    it('mixed good and bad rows: every good row kept in order of ids, each bad one rejected with its line', async () => {
      const { seeds, rejected } = await prepare('mixed', [{ path: 'data/rows/mixed.jsonl' }]);
      expect(seeds.map((s) => s.id).sort()).toEqual(['mixed-ok-1', 'mixed-ok-2', 'mixed-ok-3']);
      expect(rejected.map((r) => [r.line, r.id])).toEqual([
        [2, 'mixed-bad-image'],
        [3, 'mixed-3'],
        [5, 'mixed-no-ref'],
      ]);
      expect(rejected.map((r) => r.reason)).toEqual([
        expect.stringMatching(/truncated image data|corrupt image data/),
        expect.stringMatching(/invalid JSON/),
        'reference is missing',
      ]);
    });

    it.each(Object.entries(sourceCases))('%s: the job fails with one clear BadInput', async (file, c) => {
      const err = await prepare(file.split('.')[0], [
        { path: `data/rows/${file}`, ...(c.format ? { format: c.format } : {}) },
      ]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PythonError);
      expect((err as PythonError).type).toBe('BadInput');
      expect((err as PythonError).message).toMatch(c.message);
      expect((err as PythonError).message).not.toMatch(/Traceback/);
    });
  });
});
