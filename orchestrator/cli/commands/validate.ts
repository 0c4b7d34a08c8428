import { parseArgs } from 'node:util';
import { formatIssue, RecipeError } from '../../recipe/errors.js';
import { describeRecipe, loadRecipe } from '../../recipe/load.js';
import { CliError, ExitCode, type Command } from '../command.js';

export const command: Command = {
  name: 'validate',
  summary: 'Check a recipe and print every problem with its line and column',
  help: `Usage: ipa validate RECIPE [--offline] [--json]

Parses the recipe, checks it against the schema and the path rules (paths inside the allowed
roots, inputs present) and prints "ok: <summary>", or one line per problem:
  recipes/x.yaml:12:5 sampling.tempreature: unknown key (did you mean "temperature"?)
Warnings (printed as "warning: ...", exit code still 0) name a recipe that samples nothing or
can train nothing. Exit code 0 when valid, 3 when not.

Options:
  --offline  check structure and values before the model and data are downloaded: inputs that
             are not there yet are warnings (which \`ipa submit\` will require), not errors;
             paths must still stay inside the allowed roots
  --json     print {"ok": true, "summary", "recipe", "warnings"} or {"ok": false, "issues": [...]}
Examples:
  ipa validate recipes/tiny.yaml
  ipa validate --offline recipes/qwen2vl-7b-ipa.yaml
  ipa validate recipes/qwen2vl-7b-ipa.yaml --json`,
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, offline: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    } catch (err) {
      throw new CliError(err instanceof Error ? err.message : String(err), ExitCode.usage);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new CliError(positionals.length ? 'expected one RECIPE' : 'missing RECIPE', ExitCode.usage);
    try {
      const { recipe, warnings } = loadRecipe(positionals[0], { missingAsWarnings: values.offline });
      const summary = describeRecipe(recipe);
      if (values.json) console.log(JSON.stringify({ ok: true, summary, recipe, warnings }, null, 2));
      else {
        console.log(`ok: ${summary}`);
        for (const w of warnings) console.error(`warning: ${formatIssue(w)}`);
      }
      return ExitCode.ok;
    } catch (err) {
      if (!(err instanceof RecipeError)) throw err;
      if (values.json) console.log(JSON.stringify({ ok: false, issues: err.issues }, null, 2));
      else console.error(err.message);
      return ExitCode.invalidInput;
    }
  },
};
