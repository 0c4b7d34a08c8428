import { parseArgs } from 'node:util';
import { RecipeError } from '../../recipe/errors.js';
import { describeRecipe, loadRecipe } from '../../recipe/load.js';
import { CliError, ExitCode, type Command } from '../command.js';

export const command: Command = {
  name: 'validate',
  summary: 'Check a recipe and print every problem with its line and column',
  help: `Usage: ipa validate RECIPE [--json]

Parses the recipe, checks it against the schema and the path rules (paths inside the allowed
roots, inputs present) and prints "ok: <summary>", or one line per problem:
  recipes/x.yaml:12:5 sampling.tempreature: unknown key (did you mean "temperature"?)
Exit code 0 when valid, 3 when not.

Options:
  --json   print {"ok": true, "summary", "recipe"} or {"ok": false, "issues": [...]}
Examples:
  ipa validate recipes/tiny.yaml
  ipa validate recipes/qwen2vl-7b-ipa.yaml --json`,
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    } catch (err) {
      throw new CliError(err instanceof Error ? err.message : String(err), ExitCode.usage);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new CliError(positionals.length ? 'expected one RECIPE' : 'missing RECIPE', ExitCode.usage);
    try {
      const { recipe } = loadRecipe(positionals[0]);
      const summary = describeRecipe(recipe);
      console.log(values.json ? JSON.stringify({ ok: true, summary, recipe }, null, 2) : `ok: ${summary}`);
      return ExitCode.ok;
    } catch (err) {
      if (!(err instanceof RecipeError)) throw err;
      if (values.json) console.log(JSON.stringify({ ok: false, issues: err.issues }, null, 2));
      else console.error(err.message);
      return ExitCode.invalidInput;
    }
  },
};
