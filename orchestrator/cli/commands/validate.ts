import { parseArgs } from 'node:util';
import { formatIssue, RecipeError } from '../../recipe/errors.js';
import { escapeUnsafe } from '../../unsafe-text.js';
import { describeRecipe, loadRecipe } from '../../recipe/load.js';
import { parseSource } from '../../recipe/source.js';
import { locateWarnings } from '../../recipe/warnings.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { workerEnvProblems } from '../worker-env.js';

export const command: Command = {
  name: 'validate',
  summary: 'Check a recipe and print every problem with its line and column',
  help: `Usage: ipa validate RECIPE [--offline] [--json]

Parses the recipe, checks it against the schema and the path rules (paths inside the allowed
roots, inputs present) and prints "ok: <summary>", or one line per problem:
  recipes/x.yaml:12:5 sampling.tempreature: unknown key (did you mean "temperature"?)
A recipe that enables lmms-eval is also checked against the worker's Python (IPA_PYTHON, else
.venv/bin/python): lmms-eval must be installed there. Settings that are valid but probably not
meant (a recipe that samples nothing, can train nothing or evaluates nothing, lmms-eval on part
of each task) are printed as warnings, "warning: <file>:<line>:<column> <field>: ...", on
stderr; they do not fail the recipe. Exit code 0 when valid, 3 when not.

Options:
  --offline  check structure and values before the model and data are downloaded: inputs that
             are not there yet (model, data, benchmarks), and lmms-eval missing from the worker's
             Python, are warnings (which \`ipa submit\` or the workers will require), not errors;
             files you write yourself (prompt templates, lmms-eval task files) must exist, and
             paths must still stay inside the allowed roots
  --json     print {"ok": true, "summary", "warnings": [...], "recipe"} or {"ok": false, "issues": [...]}
Examples:
  ipa validate recipes/tiny.yaml
  ipa validate --offline recipes/qwen2vl-7b-ipa.yaml
  ipa validate recipes/qwen2vl-7b-ipa.yaml --json`,
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: { json: { type: 'boolean', default: false }, offline: { type: 'boolean', default: false } },
        allowPositionals: true,
        strict: true,
      });
    } catch (err) {
      throw new CliError(err instanceof Error ? err.message : String(err), ExitCode.usage);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1)
      throw new CliError(positionals.length ? 'expected one RECIPE' : 'missing RECIPE', ExitCode.usage);
    try {
      const file = positionals[0];
      const { recipe, source, warnings: loadWarnings } = loadRecipe(file, { missingAsWarnings: values.offline });
      const { at } = parseSource(source, file);
      const envProblems = locateWarnings(await workerEnvProblems(recipe), at);
      if (envProblems.length && !values.offline) throw new RecipeError(envProblems);
      const warnings = [...loadWarnings, ...envProblems];
      const summary = escapeUnsafe(describeRecipe(recipe));
      // JSON keeps every character (a \u escape in JSON is the same text), none takes effect on screen.
      if (values.json) console.log(escapeUnsafe(JSON.stringify({ ok: true, summary, warnings, recipe }, null, 2)));
      else {
        for (const w of warnings) console.error(`warning: ${formatIssue(w)}`);
        console.log(`ok: ${summary}`);
      }
      return ExitCode.ok;
    } catch (err) {
      if (!(err instanceof RecipeError)) throw err;
      if (values.json) console.log(escapeUnsafe(JSON.stringify({ ok: false, issues: err.issues }, null, 2)));
      else console.error(err.message);
      return ExitCode.invalidInput;
    }
  },
};
