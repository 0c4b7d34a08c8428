/**
 * docs/deployment.md's memory table: the memory plan (plan/memory-plan.ts) of the Qwen2-VL-7B
 * recipe for each worker kind on an 80 GB and a 141 GB card, computed from the published
 * config.json (docs/models/qwen2-vl-7b-instruct.config.json). A test compares the block in the
 * committed file with this output, so the table cannot drift from the code that checks workers.
 *
 * Regenerate with `npm run docs:memory`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRecipe } from '../recipe/load.js';
import type { Recipe } from '../recipe/schema.js';
import { GiB, gib, memoryPlans, modelShape, type Card, type MemoryPlan } from '../plan/memory-plan.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEPLOYMENT_DOC = join(REPO, 'docs', 'deployment.md');
const START = '<!-- memory-table:start (npm run docs:memory) -->';
const END = '<!-- memory-table:end -->';

/** The cards of the table: H100 SXM (80 GB) and H200 (141 GB), as torch reports their memory. */
export const CARDS: Card[] = [
  { name: 'an 80 GB card (H100)', bytes: 79.6 * GiB },
  { name: 'a 141 GB card (H200)', bytes: 139.8 * GiB },
];

function recipe7b(backend: 'hf' | 'vllm'): Recipe {
  const file = join(REPO, 'recipes', 'qwen2vl-7b-ipa.yaml');
  const r = parseRecipe(readFileSync(file, 'utf8'), file, { missingAsWarnings: true }).recipe;
  return { ...r, generation: { ...r.generation, backend } };
}

/** The plan's bytes on items whose name matches `what`, or "–" when it has none. */
const cell = (p: MemoryPlan, what: RegExp): string => {
  const items = p.items.filter((i) => what.test(i.what));
  return items.length ? gib(items.reduce((a, i) => a + i.bytes, 0)) : '–';
};

/** The markdown block between the markers. */
export function renderMemoryTable(): string {
  const shape = modelShape(
    JSON.parse(readFileSync(join(REPO, 'docs', 'models', 'qwen2-vl-7b-instruct.config.json'), 'utf8')),
  );
  const rows: string[] = [];
  for (const card of CARDS) {
    const kinds: Array<[string, MemoryPlan]> = [
      ['generation, `generation.backend: vllm`', memoryPlans(recipe7b('vllm'), shape, card, ['sample'])[0]],
      ['generation, `generation.backend: hf`', memoryPlans(recipe7b('hf'), shape, card, ['sample'])[0]],
      ['train (LoRA DPO, one process)', memoryPlans(recipe7b('vllm'), shape, card, ['train'])[0]],
    ];
    for (const [kind, p] of kinds) {
      const extra = [...(p.notes ?? []), ...(p.problem ? [`does not fit: ${p.problem}`] : [])].join('; ');
      const cells = [
        cell(p, /weights/),
        cell(p, /LoRA|adapter/),
        cell(p, /KV cache/),
        cell(p, /activations/),
        gib(p.total),
      ];
      rows.push(
        `| ${card.name} | ${kind} | ${cells.join(' | ')} | ${p.fits ? 'yes' : '**no**'}${extra ? ` (${extra})` : ''} |`,
      );
    }
  }
  return [
    START,
    '| card | worker | base weights | adapters / LoRA slots | KV cache | activations | total at peak | fits |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    END,
  ].join('\n');
}

/** docs/deployment.md with its memory block replaced by `renderMemoryTable()`. */
export function withMemoryTable(doc: string): string {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/deployment.md has no ${START} … ${END} block`);
  return doc.slice(0, a) + renderMemoryTable() + doc.slice(b + END.length);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write')) {
    writeFileSync(DEPLOYMENT_DOC, withMemoryTable(readFileSync(DEPLOYMENT_DOC, 'utf8')));
    console.log(`wrote ${DEPLOYMENT_DOC}`);
  } else console.log(renderMemoryTable());
}
