/**
 * Settings that left the recipe, and where they went. A recipe that still sets one gets an
 * issue saying so at its line; a run directory written before the move still reads, because
 * `withoutMovedSettings` drops them from its recipe.json (the payload schema is strict).
 */

/** Settings renamed in place, old dotted path → new one: an old run's recipe.json keeps its value. */
export const RENAMED_SETTINGS: Readonly<Record<string, string>> = {
  'training.dpo.lora': 'training.lora',
  'sampling.backend': 'generation.backend',
  'sampling.vllm': 'generation.vllm',
};

/** Dotted path → what to use instead. */
export const MOVED_SETTINGS: Readonly<Record<string, string>> = {
  'training.dpo.lora':
    'renamed to `training.lora` (the SFT baselines and vLLM read it too, not only DPO): move the block up one level',
  'sampling.backend':
    'moved to `generation.backend`: every role generates with it now (sample, verify, revise, the built-in evaluation), not only sampling',
  'sampling.vllm': 'moved to `generation.vllm`: the one engine every role generates with (move the block as it is)',
  'orchestration.lock_duration_ms':
    'the BullMQ job lock is a per-worker option now: start workers with `ipa worker --lock-ms N` (`ipa run` and `ipa ablate` take --lock-ms too)',
  'orchestration.stalled_interval_ms':
    'the stalled-job check is a per-worker option now: start workers with `ipa worker --stalled-ms N` (`ipa run` and `ipa ablate` take --stalled-ms too)',
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** The object holding the last key of `path`, created on the way when `create` (else undefined). */
function parentOf(root: unknown, path: string[], create = false): Obj | undefined {
  let cur = root;
  for (const k of path.slice(0, -1)) {
    if (!isObj(cur)) return undefined;
    if (create && cur[k] === undefined) cur[k] = {};
    cur = cur[k];
  }
  return isObj(cur) ? cur : undefined;
}

/**
 * A copy of `data` without the moved settings (data itself is left as it is); a renamed setting's
 * value goes to its new place first unless that is set already, so an old run resumes unchanged.
 */
export function withoutMovedSettings<T>(data: T): T {
  const out = structuredClone(data);
  for (const [from, to] of Object.entries(RENAMED_SETTINGS)) {
    const [src, dst] = [from.split('.'), to.split('.')];
    const value = parentOf(out, src)?.[src[src.length - 1]];
    const target = value === undefined ? undefined : parentOf(out, dst, true);
    if (target && target[dst[dst.length - 1]] === undefined) target[dst[dst.length - 1]] = value;
  }
  for (const dotted of Object.keys(MOVED_SETTINGS)) {
    const path = dotted.split('.');
    const parent = parentOf(out, path);
    if (parent) delete parent[path[path.length - 1]];
  }
  return out;
}
