/** Builds the cached fixture models once before any test file runs (see answering-model.ts). */
import { ensureAnsweringModel } from './answering-model.js';

export function setup(): void {
  ensureAnsweringModel();
}
