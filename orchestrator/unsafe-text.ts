/**
 * Text that would show something other than what it is: bidirectional controls (a right-to-left
 * override makes `gpj.exe` read as `exe.jpg` on screen) and unpaired UTF-16 surrogates (not text
 * at all; printed as replacement characters or raw bytes). Recipe paths may hold neither; any
 * text a command prints from a recipe goes through `escapeUnsafe`, so such characters show as
 * `\u202e`, never take effect. Bottom layer: pure.
 */

/** LRE, RLE, PDF, LRO, RLO (U+202A–202E), LRI, RLI, FSI, PDI (U+2066–2069), LRM, RLM (U+200E/F), ALM (U+061C). */
const BIDI = '\\u202A-\\u202E\\u2066-\\u2069\\u200E\\u200F\\u061C';
const LONE_SURROGATE = '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const UNSAFE = new RegExp(`[${BIDI}]|${LONE_SURROGATE}`, 'g');

const code = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** The first unsafe character of `s`, as `\uXXXX` with its 1-based position, or undefined. */
export function firstUnsafe(s: string): { escaped: string; at: number } | undefined {
  UNSAFE.lastIndex = 0;
  const m = UNSAFE.exec(s);
  return m ? { escaped: code(m[0]), at: m.index + 1 } : undefined;
}

/** `s` with every bidirectional control and unpaired surrogate written as `\uXXXX`. */
export function escapeUnsafe(s: string): string {
  return s.replace(UNSAFE, code);
}
