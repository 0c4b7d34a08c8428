/**
 * Which run directories this agent serves, decided from what its own host says and never from
 * Redis: the runs its user registered locally (`ipa submit`/`ipa run`/`ipa resume` append them
 * to runs.jsonl in the state folder, store/run-registry.ts) and the run roots it was given
 * (`ipa worker --run-root`, `$IPA_RUN_ROOTS`). A Redis writer can name any directory in a job;
 * it cannot make this agent work in one its user did not register or place under a root.
 */
import { delimiter, resolve } from 'node:path';
import { isWithin, realPath } from '../real-path.js';
import { StampedValue } from '../store/file-stamp.js';
import { registeredRuns, registryFile } from '../store/run-registry.js';

export interface RunAnchorOptions {
  /** Folders whose runs are served whether registered locally or not. @defaultValue `$IPA_RUN_ROOTS` (split on `:`), else none */
  roots?: readonly string[];
  /** Environment that locates the local registry (tests point `IPA_STATE_DIR` elsewhere). @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
}

export function runRootsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.IPA_RUN_ROOTS ?? '').split(delimiter).filter(Boolean);
}

export class RunAnchor {
  private readonly roots: string[];
  private readonly registered: StampedValue<Map<string, Set<string>>>;
  private readonly file: string;

  constructor(opts: RunAnchorOptions = {}) {
    const env = opts.env ?? process.env;
    this.roots = (opts.roots ?? runRootsFromEnv(env)).map((r) => realPath(resolve(r)));
    this.file = registryFile(env);
    // Read again only when runs.jsonl changes: one stat per job.
    this.registered = new StampedValue(this.file, () => {
      const byId = new Map<string, Set<string>>();
      for (const r of registeredRuns(env)) {
        const dirs = byId.get(r.id) ?? new Set<string>();
        dirs.add(realPath(r.dir));
        byId.set(r.id, dirs);
      }
      return byId;
    });
  }

  /** The folders given as run roots (real paths). */
  get runRoots(): readonly string[] {
    return this.roots;
  }

  /** Why the agent does not serve run `runId` in `dir`, or undefined when it does. */
  refusal(runId: string, dir: string): string | undefined {
    const real = realPath(dir);
    if (this.roots.some((root) => isWithin(real, root))) return undefined;
    if (this.registered.get().get(runId)?.has(real)) return undefined;
    const roots = this.roots.length
      ? `under none of its run roots (${this.roots.join(', ')})`
      : 'and it was given no run roots';
    return (
      `run ${runId} in ${dir} was not registered on this host (${this.file}) ${roots}; ` +
      '`ipa resume <run>` on this host registers it, or start the worker with --run-root <folder holding it>'
    );
  }
}
