/**
 * Generates docs/recipe.md, the recipe field reference, from the schema (via its input-side JSON
 * Schema, which knows what a user must write and what has a default). A test compares the
 * committed file with this output, so the reference cannot drift from the schema.
 *
 * Regenerate with `npm run docs:recipe`.
 */
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { RecipeSchema } from './schema.js';
import { IMAGE_FORMS, SEED_ROW_FIELDS, SOURCE_FORMATS, TEXT_FORMS } from './seed-row-forms.js';

interface Node {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node | false;
  prefixItems?: Node[];
  oneOf?: Node[];
  anyOf?: Node[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
}

interface Row {
  path: string;
  type: string;
  default: string;
  description: string;
}

/** Where `npm run docs:recipe` writes. */
export const RECIPE_DOCS_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'recipe.md');

/** JavaScript's safe-integer bounds, which zod puts on every integer: noise in a reference. */
const SAFE = Number.MAX_SAFE_INTEGER;

/** The whole docs/recipe.md text. */
export function renderRecipeDocs(): string {
  const root = z.toJSONSchema(RecipeSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Node;
  const rows: Row[] = [];
  collect(root, '', rows);
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    '# Recipe reference',
    '',
    '<!-- Generated from orchestrator/recipe/schema.ts by `npm run docs:recipe`; do not edit by hand. -->',
    '',
    'A recipe is a YAML file describing one IPA run. Check one with `ipa validate FILE`; print every',
    'default with `ipa recipe defaults` and the JSON Schema with `ipa recipe schema`.',
    '',
    "Relative paths are resolved against the recipe's folder and must stay inside the allowed roots:",
    'that folder, the repository root (for recipes inside it) and the folders in `allowed_roots`.',
    'Referenced inputs (model, sources, templates, benchmarks) must exist. Unknown keys are errors.',
    '',
    '`[]` in a path stands for every item of a list; `[kind=x]` for the list items of that kind.',
    'The rows a data source may hold are described under [Seed rows](#seed-rows), after the table.',
    '',
    '| path | type | default | description |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.path}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`),
    '',
    ...seedRowsSection(cell),
  ].join('\n');
}

/** The "Seed rows" section: the forms of orchestrator/recipe/seed-row-forms.ts, which the loader reads too. */
function seedRowsSection(cell: (s: string) => string): string[] {
  const code = (names: readonly string[]) => names.map((n) => `\`${n}\``).join(', ');
  const list = (items: readonly { doc: string }[]) => items.map((f) => `- ${f.doc}`);
  return [
    '## Seed rows',
    '',
    'Each row of a `data.sources` entry becomes one seed `{id, images, instruction, reference, task_type, source}`.',
    "A row that lacks a required field or holds a value in none of the forms below is rejected, with the reason, in the run's",
    '`data/rejected_seeds.jsonl`; the other rows go on.',
    '',
    '| field | read from (the first key present and not null) | default | description |',
    '| --- | --- | --- | --- |',
    ...SEED_ROW_FIELDS.map(
      (f) =>
        `| \`${f.name}\` | ${code(f.aliases)} | ${f.required ? '**required**' : `\`${f.default}\``} | ${cell(f.doc)} |`,
    ),
    '',
    'A text value (instruction, reference, task_type) may be any of these; surrounding whitespace is stripped and an',
    'empty text is refused:',
    '',
    ...list(TEXT_FORMS),
    '',
    'An image reference may be any of these. Every image is decoded and checked against `data.max_image_bytes`,',
    "`data.max_image_side` and what the model's image processor accepts; embedded images are written to the run's",
    '`data/images/`, named by their content.',
    '',
    ...list(IMAGE_FORMS),
    '',
    'How each `format` reads its `path` into rows:',
    '',
    ...Object.entries(SOURCE_FORMATS).map(([name, doc]) => `- \`${name}\`: ${doc}`),
    '',
  ];
}

function collect(node: Node, path: string, rows: Row[], required = false): void {
  const join = (key: string) => (path ? `${path}.${key}` : key);
  if (node.type === 'object' && node.properties) {
    // List items get no row of their own: the list's row above says what it holds.
    if (path && !path.endsWith('[]')) rows.push(row(path, node, required));
    for (const [key, child] of Object.entries(node.properties))
      collect(child, join(key), rows, node.required?.includes(key) ?? false);
    return;
  }
  rows.push(row(path, node, required));
  const items = node.type === 'array' && node.items ? node.items : undefined;
  if (items?.type === 'object') collect(items, `${path}[]`, rows, false);
  for (const variant of items?.oneOf ?? items?.anyOf ?? []) {
    const kind = Object.entries(variant.properties ?? {}).find(([, p]) => p.const !== undefined);
    const label = kind ? `${path}[${kind[0]}=${String(kind[1].const)}]` : `${path}[]`;
    for (const [key, child] of Object.entries(variant.properties ?? {})) {
      if (child.const === undefined) collect(child, `${label}.${key}`, rows, variant.required?.includes(key) ?? false);
    }
  }
}

function row(path: string, node: Node, required: boolean): Row {
  const isObject = node.type === 'object';
  let def = '';
  if (node.default !== undefined && !isObject) def = `\`${JSON.stringify(node.default)}\``;
  else if (required) def = '**required**';
  return { path, type: typeOf(node), default: def, description: node.description ?? '' };
}

function typeOf(n: Node): string {
  if (n.enum) return n.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (n.const !== undefined) return JSON.stringify(n.const);
  const alts = n.oneOf ?? n.anyOf;
  if (alts) return [...new Set(alts.map(typeOf))].join(' | ');
  if (n.type === 'array') {
    if (n.prefixItems) return `[${n.prefixItems.map(typeOf).join(', ')}]`;
    const item = n.items ? typeOf(n.items) : 'unknown';
    const limits = [n.minItems ? `≥ ${n.minItems}` : '', n.maxItems !== undefined ? `≤ ${n.maxItems}` : ''].filter(
      Boolean,
    );
    return `${/[ |]/.test(item) ? `(${item})` : item}[]${limits.length ? ` (${limits.join(', ')} items)` : ''}`;
  }
  const bounds = [
    n.minimum !== undefined && n.minimum > -SAFE ? `≥ ${n.minimum}` : '',
    n.exclusiveMinimum !== undefined ? `> ${n.exclusiveMinimum}` : '',
    n.maximum !== undefined && n.maximum < SAFE ? `≤ ${n.maximum}` : '',
    n.exclusiveMaximum !== undefined ? `< ${n.exclusiveMaximum}` : '',
  ].filter(Boolean);
  const pattern = n.pattern ? ` matching \`${n.pattern}\`` : '';
  return `${n.type ?? 'any'}${bounds.length ? ` (${bounds.join(', ')})` : ''}${pattern}`;
}

if (
  process.argv[1] &&
  resolve(process.argv[1]) === fileURLToPath(import.meta.url) &&
  process.argv.includes('--write')
) {
  writeFileSync(RECIPE_DOCS_PATH, renderRecipeDocs());
  console.log(`wrote ${RECIPE_DOCS_PATH}`);
}
