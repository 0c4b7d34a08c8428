#!/usr/bin/env node
// Runs the TypeScript CLI in this very process through tsx's loader: no build step, and a
// Ctrl-C reaches the CLI itself (a wrapper process would die first, or pass the signal on twice).
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../orchestrator/cli/main.ts');
runCli(process.argv.slice(2));
