/**
 * Settings that left the recipe, and where they went. A recipe that still sets one gets an
 * issue saying so at its line; a run directory written before the move still reads, because
 * `withoutMovedSettings` drops them from its recipe.json (the payload schema is strict).
 */

/** Dotted path → what to use instead. */
export const MOVED_SETTINGS: Readonly<Record<string, string>> = {
  'orchestration.lock_duration_ms':
    'the BullMQ job lock is a per-worker option now: start workers with `ipa worker --lock-ms N` (`ipa run` and `ipa ablate` take --lock-ms too)',
  'orchestration.stalled_interval_ms':
    'the stalled-job check is a per-worker option now: start workers with `ipa worker --stalled-ms N` (`ipa run` and `ipa ablate` take --stalled-ms too)',
};

/** A copy of `data` without the moved settings (data itself is left as it is). */
export function withoutMovedSettings<T>(data: T): T {
  const out = structuredClone(data);
  for (const dotted of Object.keys(MOVED_SETTINGS)) {
    const path = dotted.split('.');
    const parent = path.slice(0, -1).reduce<unknown>((cur, k) => (cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined), out);
    if (parent && typeof parent === 'object') delete (parent as Record<string, unknown>)[path[path.length - 1]];
  }
  return out;
}
