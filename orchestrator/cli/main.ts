#!/usr/bin/env node
/** `ipa` entry point: dispatches to `commands/<name>.ts`. */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ExitCode, IpaError, type Command } from './command.js';

const here = dirname(fileURLToPath(import.meta.url));
const commandsDir = join(here, 'commands');

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => f.replace(/\.(ts|js)$/, ''))
    .sort();
}

async function load(name: string): Promise<Command | undefined> {
  if (!commandNames().includes(name)) return undefined;
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const mod = await import(pathToFileURL(join(commandsDir, `${name}.${ext}`)).href);
  return mod.command as Command;
}

async function usage(): Promise<string> {
  const lines = ['Usage: ipa <command> [options]   (ipa <command> --help for details)', '', 'Commands:'];
  for (const name of commandNames()) {
    // One broken command module must not hide the others from --help.
    const c = await load(name).catch((err: Error) => ({ summary: `(unavailable: ${err.message.split('\n')[0]})` }));
    if (c) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  }
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? ExitCode.ok : ExitCode.usage;
  }
  const cmd = await load(name);
  if (!cmd) {
    console.error(`ipa: unknown command '${name}'\n\n${await usage()}`);
    return ExitCode.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.help);
    return ExitCode.ok;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof IpaError) {
      console.error(`ipa ${name}: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}

/** Runs the CLI on `argv` and exits with its code (a bug's stack trace exits 1). */
export function runCli(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? err.stack : err);
      process.exit(ExitCode.failed);
    },
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) runCli(process.argv.slice(2));
