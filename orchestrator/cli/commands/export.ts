import { execa } from 'execa';
import { resolve } from 'node:path';
import { verifyInputs } from '../../store/integrity.js';
import { EXPORT_MARKER, exportTargetProblem } from '../export-target.js';
import { recordedPairFiles } from '../../store/job-inputs.js';
import { pythonCommand } from '../python.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse } from '../context.js';

export const command: Command = {
  name: 'export',
  summary: "Export a run's preference pairs: JSONL, Parquet or a Hugging Face dataset directory",
  help: `Usage: ipa export RUN --format jsonl|parquet|hf --out PATH [--feedback] [--force]

The pairs are in TRL's conversational preference format (prompt/chosen/rejected + images) and
load into DPOTrainer with no conversion. --feedback exports the reviser's feedback pairs instead.
Only the outputs named in done records are read, each checked against its sha256 first: a file
that changed since its job wrote it stops the export (exit 3; \`ipa resume\` recomputes it).
Nothing is overwritten by surprise: --out must not exist, be an empty folder, or (hf) hold an
earlier export of the same run (the ${EXPORT_MARKER} file an hf export writes); anything else
is refused (exit 3) unless --force. The export is written beside the target and renamed into place.
Examples:
  ipa export tiny-2026 --format hf --out exports/tiny-pairs
  ipa export tiny-2026 --format jsonl --out pairs.jsonl

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      format: { type: 'string', default: 'jsonl' },
      out: { type: 'string' },
      feedback: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    });
    const store = findRun(values, positionals[0]);
    if (!values.out) throw new CliError('missing --out PATH', ExitCode.usage);
    if (!['jsonl', 'parquet', 'hf'].includes(values.format!))
      throw new CliError(`unknown --format ${values.format} (jsonl, parquet, hf)`, ExitCode.usage);
    const out = resolve(values.out);
    const problem = exportTargetProblem(out, values.format!, store.id, !!values.force);
    if (problem) throw new CliError(problem, ExitCode.invalidInput);
    const files = recordedPairFiles(store, values.feedback ? 'feedback_pairs' : 'pairs');
    verifyInputs(store, files);
    const { python, env } = pythonCommand();
    const kind = values.feedback ? 'feedback_pairs' : 'pairs';
    const args = [
      '-m',
      'ipa_worker.tools.export',
      out,
      '--format',
      values.format!,
      '--inputs-from',
      '-',
      '--run-id',
      store.id,
      '--run-dir',
      store.dir,
      '--kind',
      kind,
    ];
    // The file list goes through stdin: a run with thousands of shards would overflow argv.
    const r = await execa(python, args, {
      env,
      reject: false,
      stdout: 'pipe',
      stderr: 'pipe',
      input: files.join('\n') + '\n',
    });
    if (r.exitCode !== 0)
      throw new CliError(
        `export failed: ${String(r.stderr).trim().split('\n').slice(-3).join(' | ')}`,
        ExitCode.failed,
      );
    console.log(String(r.stdout).trim());
    return ExitCode.ok;
  },
};
