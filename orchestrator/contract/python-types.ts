/**
 * Typed views of a validated recipe for the Python worker: frozen dataclasses generated from the
 * recipe's JSON Schema into workers/ipa_worker/contract/recipe_types.py (`npm run contract`), so a
 * stage reads `recipe.training.dpo.beta` as a float instead of casting a dict value. The payload's
 * recipe is validated and defaulted by the time a stage builds its view (`Recipe.from_dict`), so
 * the view restates no default: a field without one in zod is `None` when the recipe leaves it out.
 */
import type { JsonSchema } from './json-schema.js';

type Node = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node;
  anyOf?: Node[];
  oneOf?: Node[];
};

/** How one field is typed and converted from its JSON value (`v` is the Python expression). */
interface Field {
  type: string;
  convert: (v: string) => string;
}

const PY_KEYWORDS = new Set([
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'while',
  'with',
  'yield',
  'None',
  'True',
  'False',
]);

const pascal = (path: string[]): string =>
  path
    .filter((p) => p !== '[]')
    .map((p) =>
      p
        .split('_')
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join(''),
    )
    .join('') + (path.at(-1) === '[]' ? 'Item' : '');

/** An optional field: None when the recipe leaves it out (zod gives it no default). */
function optional(key: string, f: Field): string {
  const get = `d.get(${JSON.stringify(key)})`;
  return f.convert('v') === 'v' ? get : `None if ${get} is None else ${f.convert(`d[${JSON.stringify(key)}]`)}`;
}

class Generator {
  readonly classes: string[] = [];

  field(node: Node, path: string[], depth: number): Field {
    if (node.properties) {
      const name = this.dataclass(node, path);
      return { type: name, convert: (v) => `${name}.from_dict(${v})` };
    }
    const branches = node.anyOf ?? node.oneOf;
    if (branches) {
      const present = branches.filter((b) => b.type !== 'null');
      if (present.length === 1 && branches.length === 2) {
        const inner = this.field(present[0], path, depth);
        return { type: `${inner.type} | None`, convert: (v) => `None if ${v} is None else ${inner.convert(v)}` };
      }
      if (branches.every((b) => b.type === 'string')) return { type: 'str', convert: (v) => v };
      return { type: 'Any', convert: (v) => v }; // a union of shapes (e.g. a perturbation by kind): the JSON value as it is
    }
    switch (node.type) {
      case 'number':
        return { type: 'float', convert: (v) => `float(${v})` }; // JSON may write 1 for 1.0
      case 'integer':
        return { type: 'int', convert: (v) => v };
      case 'boolean':
        return { type: 'bool', convert: (v) => v };
      case 'string':
        return { type: 'str', convert: (v) => v };
      case 'array': {
        if (!node.items || node.prefixItems) return { type: 'list[Any]', convert: (v) => `list(${v})` };
        const item = this.field(node.items, [...path, '[]'], depth + 1);
        const x = `x${depth}`;
        const same = item.convert(x) === x;
        return {
          type: `list[${item.type}]`,
          convert: (v) => (same ? `list(${v})` : `[${item.convert(x)} for ${x} in ${v}]`),
        };
      }
      case 'object':
        return { type: 'dict[str, Any]', convert: (v) => `dict(${v})` };
      default:
        return { type: 'Any', convert: (v) => v };
    }
  }

  dataclass(node: Node, path: string[]): string {
    const name = path.length ? pascal(path) : 'Recipe';
    const required = new Set(node.required ?? []);
    const fields = Object.entries(node.properties ?? {}).map(([key, child]) => {
      const f = this.field(child, [...path, key], 0);
      const attr = PY_KEYWORDS.has(key) ? `${key}_` : key;
      return required.has(key)
        ? { line: `    ${attr}: ${f.type}`, init: `${attr}=${f.convert(`d[${JSON.stringify(key)}]`)}` }
        : {
            line: `    ${attr}: ${f.type}${f.type.endsWith('| None') || f.type === 'Any' ? '' : ' | None'} = None`,
            init: `${attr}=${optional(key, f)}`,
          };
    });
    const where = path.length ? path.join('.').replaceAll('.[]', '[]') : 'the recipe';
    this.classes.push(
      [
        '@dataclass(frozen=True, kw_only=True)',
        `class ${name}:`,
        `    """${where}"""`,
        '',
        ...fields.map((f) => f.line),
        '',
        '    @classmethod',
        `    def from_dict(cls, d: dict[str, Any]) -> ${name}:`,
        `        return cls(${fields.map((f) => f.init).join(', ')})`,
      ].join('\n'),
    );
    return name;
  }
}

/** The Python module: one frozen dataclass per object of the recipe schema, innermost first. */
export function recipePythonTypes(schema: JsonSchema): string {
  const gen = new Generator();
  gen.dataclass(schema as Node, []);
  return [
    '"""Typed views of a validated recipe: frozen dataclasses generated from its JSON Schema by',
    'orchestrator/contract/python-types.ts (`npm run contract`). Never edit by hand.',
    '',
    '`Recipe.from_dict(payload["recipe"])` gives a stage its settings as typed attributes; numbers',
    "become floats there, once, and the defaults are the recipe's own (zod filled them in).",
    '"""',
    '',
    '# fmt: off',
    'from __future__ import annotations',
    '',
    'from dataclasses import dataclass',
    'from typing import Any',
    '',
    '',
    gen.classes.join('\n\n\n'),
    '',
  ].join('\n');
}
