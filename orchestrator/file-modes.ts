/**
 * Modes of what ipa writes, given to the system before the process umask applies. Run folders
 * and exports are for the team: a teammate on a shared filesystem reads them (0644 and 0755 under
 * the usual umask 022), a stricter umask keeps them to oneself, and nothing is world-writable even
 * under umask 0 (some containers). `workers/ipa_worker/data/jsonl_io.py` uses the same modes.
 *
 * Deliberately private, whatever the umask: the per-user runs registry (`runs.jsonl` in the state
 * folder), because a worker serves the runs it lists (agent/run-anchor.ts) and a group member who
 * could write it could have a worker write where they chose. Secrets are never written by ipa:
 * `IPA_SECRET_FILE` is the user's own file and must be 0600 (queue/job-signer.ts refuses it
 * otherwise); the private Redis's password is written only to the user's private note of it for
their other terminals (store/private-redis-notes.ts), as private as the registry.
 */
export const FILE_MODE = 0o664;
export const DIR_MODE = 0o775;

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;
