/**
 * Nothing in a recipe or a dataset is executed: YAML language tags are refused, and strings that
 * look like shell, JavaScript or Python code stay plain text through `ipa validate` and the real
 * `prepare` stage. A marker file that any such execution would create must never appear.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PythonProcess } from '../../orchestrator/bridge/python-process.js';
import { runPrepare } from '../bad-input/prepare-stage.js';
import { REPO, TINY_MODEL } from '../helpers/harness.js';
import { ipa, STACK_FRAME } from './cli-process.js';

describe('recipe and dataset content is inert', () => {
  let work: string;
  let marker: string;
  let payloads: string[];
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ipa-inert-'));
    marker = join(work, 'EXECUTED');
    const touch = `touch ${marker}`;
    payloads = [
      `$(${touch})`,
      `\`${touch}\``,
      `\${require('child_process').execSync('${touch}')}`,
      `__import__('os').system('${touch}')`,
      `{{ cycler.__init__.__globals__.os.popen('${touch}') }}`,
      `{__class__.__init__.__globals__}`,
    ];
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const recipeText = (label: string) => `name: inert
model:
  base: ${TINY_MODEL}
  build_tiny: true
data:
  synthetic:
    enabled: true
    output_dir: ${join(REPO, '.cache', 'test-data', 'synthetic')}
verifier:
  kind: rule
allowed_roots: [${join(REPO, '.cache')}]
rounds:
  - name: ${label}
`;

  it('code-looking strings in a recipe are loaded as text, never run', async () => {
    for (const [i, p] of payloads.entries()) {
      const file = join(work, `label-${i}.yaml`);
      writeFileSync(file, recipeText(JSON.stringify(p)));
      const r = await ipa(['validate', file, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).recipe.rounds[0].name).toBe(p);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['!!python/object/apply:os.system', (m: string) => `!!python/object/apply:os.system ["touch ${m}"]`],
    ['!!js/function', (m: string) => `!!js/function "function () { require('fs').writeFileSync('${m}', '') }"`],
    ['!<tag:yaml.org,2002:python/name:os.system>', () => '!<tag:yaml.org,2002:python/name:os.system> x'],
  ])('a %s tag is refused (exit code 3, file:line:column), never constructed', async (_tag, value) => {
    const file = join(work, 'tagged.yaml');
    writeFileSync(file, recipeText(value(marker)));
    const r = await ipa(['validate', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:13:\\d+ rounds\\[0\\]\\.name: YAML tag .+ is not allowed`,
      ),
    );
    expect(r.stdout + r.stderr).not.toMatch(STACK_FRAME);
    expect(existsSync(marker)).toBe(false);
  });

  describe('dataset rows', () => {
    let py: PythonProcess;
    beforeAll(async () => {
      py = await PythonProcess.start({});
    });
    afterAll(async () => {
      await py?.close({ graceMs: 5000 });
    });

    it('code-looking instructions, references and ids are kept verbatim; a code-looking image path is just a missing file', async () => {
      const dir = join(work, 'data-case');
      mkdirSync(join(dir, 'images'), { recursive: true });
      cpSync(join(REPO, 'test', 'fixtures', 'bad-inputs', 'images', 'good.png'), join(dir, 'images', 'good.png'));
      const rows = payloads.map((p, i) => ({
        id: `${p}#${i}`,
        images: ['images/good.png'],
        instruction: p,
        reference: p,
      }));
      rows.push({
        id: 'shell-path',
        images: [`images/$(touch ${marker}).png`],
        instruction: 'What colour?',
        reference: 'red',
      });
      writeFileSync(join(dir, 'rows.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const { seeds, rejected } = await runPrepare(py, dir, 'inert', [{ path: 'rows.jsonl' }]);
      expect(seeds.map((s) => [s.id, s.instruction, s.reference]).sort()).toEqual(
        payloads.map((p, i) => [`${p}#${i}`, p, p]).sort(),
      );
      expect(rejected).toEqual([
        expect.objectContaining({ id: 'shell-path', reason: expect.stringMatching(/image file not found/) }),
      ]);
      expect(existsSync(marker)).toBe(false);
    });
  });
});
