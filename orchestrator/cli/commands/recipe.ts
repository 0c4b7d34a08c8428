import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { renderRecipeDocs } from '../../recipe/docs.js';
import { recipeJsonSchema, stagePayloadJsonSchema } from '../../contract/json-schema.js';
import { RecipeSchema } from '../../recipe/schema.js';
import { CliError, ExitCode, type Command } from '../command.js';

/** Placeholders for the two fields without a default, so `defaults` prints a complete recipe. */
const PLACEHOLDERS = { name: 'my-run', model: { base: 'models/Qwen2-VL-2B-Instruct' } };

export const command: Command = {
  name: 'recipe',
  summary: 'Print the recipe JSON Schema, a recipe with every default, or the field reference',
  help: `Usage: ipa recipe schema [--payload] | ipa recipe defaults | ipa recipe docs

  schema      JSON Schema (draft 2020-12) of a validated recipe; with --payload, of the
              StagePayload the Python worker receives
  defaults    a recipe with every default filled in, as YAML (name and model.base are placeholders)
  docs        the field reference (docs/recipe.md) as Markdown
Examples:
  ipa recipe schema > recipe.schema.json
  ipa recipe defaults > recipes/mine.yaml`,
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: { payload: { type: 'boolean', default: false } },
        allowPositionals: true,
        strict: true,
      });
    } catch (err) {
      throw new CliError(err instanceof Error ? err.message : String(err), ExitCode.usage);
    }
    const { values, positionals } = parsed;
    const [what, ...extra] = positionals;
    if (extra.length) throw new CliError(`unexpected argument '${extra[0]}'`, ExitCode.usage);
    if (values.payload && what !== 'schema') throw new CliError('--payload goes with "schema"', ExitCode.usage);
    switch (what) {
      case 'schema':
        console.log(JSON.stringify(values.payload ? stagePayloadJsonSchema() : recipeJsonSchema(), null, 2));
        return ExitCode.ok;
      case 'defaults':
        console.log(
          `# Every setting with its default; name and model.base are placeholders.\n${stringify(RecipeSchema.parse(PLACEHOLDERS))}`,
        );
        return ExitCode.ok;
      case 'docs':
        process.stdout.write(renderRecipeDocs());
        return ExitCode.ok;
      default:
        throw new CliError(
          what
            ? `unknown sub-command '${what}' (schema, defaults or docs)`
            : 'missing sub-command (schema, defaults or docs)',
          ExitCode.usage,
        );
    }
  },
};
