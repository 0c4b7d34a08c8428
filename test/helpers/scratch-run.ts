/** A run directory in a temp folder, with a minimal recipe: for tests of run-directory services. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';
import { RunStore } from '../../orchestrator/store/run-store.js';

export function scratchRun(id: string): RunStore {
  const root = mkdtempSync(join(tmpdir(), 'ipa-run-'));
  const recipeFile = join(root, 'r.yaml');
  writeFileSync(recipeFile, 'name: s\nmodel: {base: /m}\n');
  return RunStore.create({
    runsDir: join(root, 'runs'),
    recipe: RecipeSchema.parse({ name: 's', model: { base: '/m' } }),
    recipeFile,
    queuePrefix: 'p',
    id,
  });
}
