/**
 * The forms a seed row may take in a data source (`data.sources`): field names and their aliases,
 * text values, image references, the ShareGPT/LLaVA conversation layout and the source formats.
 * One source of truth: `npm run contract` writes it for Python (`seed_row_forms.json`, whose
 * aliases `seed_rows.py` and `seed_readers.py` read) and `npm run docs:recipe` renders it in
 * docs/recipe.md; a pytest builds a row in every form listed here and shows the loader takes it.
 */
import type { z } from 'zod';
import type { DataSourceSchema } from './schema.js';

export interface SeedRowField {
  /** The name in a normalised seed row. */
  name: string;
  /** Keys read for it, in order of preference: the first one present and not null wins. */
  aliases: readonly string[];
  required: boolean;
  /** The value an optional field takes when the row has none (a format for `id`). */
  default?: string;
  doc: string;
}

export const SEED_ROW_FIELDS: readonly SeedRowField[] = [
  {
    name: 'instruction',
    aliases: ['instruction', 'question', 'prompt'],
    required: true,
    doc: 'The task asked about the image(s): text, at most `data.max_instruction_chars` characters.',
  },
  {
    name: 'reference',
    aliases: ['reference', 'answer', 'response'],
    required: true,
    doc: 'The reference answer the verifier judges responses against: text.',
  },
  {
    name: 'images',
    aliases: ['images', 'image'],
    required: true,
    doc: 'One image reference or a non-empty list of them, in any of the image forms below.',
  },
  {
    name: 'id',
    aliases: ['id'],
    required: false,
    default: '{source}-{line}',
    doc: "Text or an integer, unique across all sources; without one, the source's name and the row's line or row number.",
  },
  {
    name: 'task_type',
    aliases: ['task_type'],
    required: false,
    default: 'general',
    doc: "The row's kind of task, a text label (prepare counts the seeds of each).",
  },
];

export interface Form {
  name: string;
  doc: string;
}

/** What a text field (instruction, reference, task_type) may hold; surrounding whitespace is stripped and an empty text is refused. */
export const TEXT_FORMS: readonly Form[] = [
  { name: 'string', doc: 'A string (valid UTF-8, no unpaired surrogates).' },
  { name: 'number', doc: 'A number, read as its text (`3` is `"3"`).' },
  { name: 'utf8_bytes', doc: 'UTF-8 bytes (a binary column in Parquet or a Hugging Face dataset).' },
  { name: 'list', doc: 'A list (VQA answer lists): its first non-empty string or number.' },
];

/** What one image reference may be. */
export const IMAGE_FORMS: readonly Form[] = [
  {
    name: 'relative_path',
    doc: "A path relative to the source's `image_root` (default: the source file's folder, or the source itself when it is a folder).",
  },
  {
    name: 'absolute_path',
    doc: "An absolute path (`~` is the home folder). Every path must lie inside the source's image root or an allowed root (the recipe's folder, its repository, `allowed_roots`).",
  },
  {
    name: 'hf_image_dict',
    doc: 'A Hugging Face `datasets.Image` value `{"bytes": ..., "path": ...}`: its bytes when set, else its path.',
  },
  { name: 'raw_bytes', doc: "The image file's bytes (a binary column in Parquet or a Hugging Face dataset)." },
  {
    name: 'base64',
    doc: 'Base64 text of the image file (PNG, JPEG, GIF, BMP, WebP or TIFF: a text that decodes to none of these is read as a path).',
  },
  { name: 'data_url', doc: 'A data URL: `data:image/png;base64,...`.' },
];

/** How the `sharegpt` format reads a conversation (LLaVA's layout): each list gives keys or values in order of preference. */
export const CONVERSATION_FORM = {
  /** Key of the list of turns: the first one that is present and not empty. */
  turns: ['conversations', 'messages'],
  /** Key of a turn's speaker, and of its text: the first one present. */
  speaker: ['from', 'role'],
  text: ['value', 'content'],
  /** Speakers whose first turn gives the instruction, and whose next turn after it gives the reference. */
  human: ['human', 'user'],
  assistant: ['gpt', 'assistant'],
  /** Removed from the instruction (with the blank lines it leaves). */
  image_token: '<image>',
} as const;

/** `a` (or `b`, `c`): names in order of preference. */
const or = ([first, ...rest]: readonly string[]) =>
  `\`${first}\`${rest.length ? ` (or ${rest.map((n) => `\`${n}\``).join(', ')})` : ''}`;
const C = CONVERSATION_FORM;

/** How each `data.sources[].format` reads its `path` into rows. */
export const SOURCE_FORMATS: Record<z.output<typeof DataSourceSchema>['format'], string> = {
  jsonl: 'One JSON object per line; blank lines are skipped.',
  parquet: 'A Parquet file, or a folder: every `*.parquet` file under it, in path order; one row per table row.',
  hf: 'A `datasets.save_to_disk` folder (of a dataset dict: its `train` split, else the first by name); an image column gives `{"bytes", "path"}` dicts.',
  sharegpt:
    `A JSON list of conversations (LLaVA's layout). The first ${or(C.human)} turn of ${or(C.turns)}, ` +
    `the speaker read from ${or(C.speaker)}, gives the instruction: its ${or(C.text)} without \`${C.image_token}\` tokens; ` +
    `the next ${or(C.assistant)} turn after it gives the reference. ` +
    "The conversation's other keys (`image`, `id`, `task_type`, ...) are read as in any row.",
};

/** Everything above, as the contract file Python reads. */
export function seedRowForms() {
  return {
    fields: SEED_ROW_FIELDS,
    text_forms: TEXT_FORMS,
    image_forms: IMAGE_FORMS,
    conversation: CONVERSATION_FORM,
    source_formats: SOURCE_FORMATS,
  };
}
