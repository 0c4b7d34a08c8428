/**
 * Where `ipa export` may write without destroying anything: a path that does not exist, an empty
 * folder, or (format hf) a folder that holds an earlier export of the same run, known by the
 * marker file the export writes into it. Anything else — a folder of other files (`--out .`), an
 * existing JSONL or Parquet file, another run's export — is refused with what is there and what
 * to pass, unless `--force`. The write itself goes to a fresh temporary file or folder beside the
 * target and is renamed into place (ipa_worker.tools.export).
 */
import { lstatSync, readdirSync } from 'node:fs';
import { readRegularText } from '../regular-file.js';

/** The file an hf export writes into its folder: `{run_id, run_dir, kind, rows, exported_at}`. */
export const EXPORT_MARKER = '.ipa-export.json';

/** The run id an export folder's marker names, or undefined when there is none (or it is not one). */
function markerRun(dir: string): string | undefined {
  try {
    const v = JSON.parse(readRegularText(`${dir}/${EXPORT_MARKER}`)) as { run_id?: unknown };
    return typeof v.run_id === 'string' ? v.run_id : undefined;
  } catch {
    return undefined;
  }
}

function some(names: string[]): string {
  const shown = names
    .slice(0, 3)
    .map((n) => JSON.stringify(n))
    .join(', ');
  return `${names.length} entr${names.length === 1 ? 'y' : 'ies'}: ${shown}${names.length > 3 ? ', …' : ''}`;
}

/**
 * Why exporting run `runId` as `format` to `out` would destroy something, or undefined when it
 * would not (or `force` is given and the target can be replaced at all).
 */
export function exportTargetProblem(out: string, format: string, runId: string, force: boolean): string | undefined {
  let st;
  try {
    st = lstatSync(out);
  } catch {
    return undefined; // nothing there yet
  }
  const keep = 'nothing was written';
  const folder = format === 'hf';
  if (st.isSymbolicLink()) return `--out ${out} is a symbolic link; ${keep}. Choose a path that is not a link`;
  if (folder && !st.isDirectory())
    return `--out ${out} is a file, not a folder (--format hf writes a dataset folder); ${keep}. Choose a new --out`;
  if (!folder && st.isDirectory())
    return `--out ${out} is a folder, not a file (--format ${format} writes one file); ${keep}. Choose a file path, e.g. ${out.replace(/\/+$/, '')}/pairs.${format}`;
  if (force) return undefined;
  if (!folder)
    return `--out ${out} already exists (${st.size} bytes); ${keep}. Pass --force to replace it, or choose a new --out`;
  const names = readdirSync(out).sort();
  if (!names.length) return undefined;
  const owner = markerRun(out);
  if (owner === runId) return undefined;
  const what = owner
    ? `holds an export of another run (${owner})`
    : `is not empty (${some(names)}) and holds no export of run ${runId} (no ${EXPORT_MARKER})`;
  return `--out ${out} ${what}; ${keep}. Pass --force to replace everything in it, or choose a new or empty folder`;
}
