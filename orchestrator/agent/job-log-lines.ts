/**
 * Lines of a job's log (`logs/<job-id>.log`) as a person reads them with `ipa logs`: the Python
 * process's log messages as `HH:MM:SS [level: ]message` (a traceback on the lines after), phase
 * boundaries as `— policy DPO: 40 pairs, 3 epochs —`, and raw stderr as the terminal would have
 * shown it (a progress bar redrawn with `\r` keeps only its last state).
 */
import type { LogEntry } from '../contract/protocol.js';

function clock(d: Date): string {
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** A Python `log` message as one line (plus its traceback lines, when it carries one). */
export function pythonLogLine(entry: Pick<LogEntry, 'level' | 'msg' | 'fields'>, now = new Date()): string {
  const fields = entry.fields ?? {};
  const msg = entry.msg.trimEnd();
  if (fields.phase === true) return `— ${msg} —`;
  const level = entry.level === 'info' || entry.level === 'debug' ? '' : `${entry.level}: `;
  const exc = typeof fields.exc === 'string' && fields.exc.trim() ? `\n${fields.exc.trimEnd()}` : '';
  return `${clock(now)} ${level}${msg}${exc}`;
}

/** A stderr line as a terminal shows it: the text after its last carriage return; undefined when blank. */
export function stderrLine(line: string): string | undefined {
  const shown = line.slice(line.lastIndexOf('\r') + 1).trimEnd();
  return shown.trim() ? shown : undefined;
}
