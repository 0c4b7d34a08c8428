import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../orchestrator/bridge/line-splitter.js';

function split(chunks: string[], flush = false): string[] {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  for (const c of chunks) s.push(c);
  if (flush) s.flush();
  return lines;
}

describe('LineSplitter', () => {
  it('splits several lines in one chunk and keeps empty lines', () => {
    expect(split(['a\nb\n\nc\n'])).toEqual(['a', 'b', '', 'c']);
  });

  it('joins a line spread over many chunks', () => {
    expect(split(['{"a"', ':', '1}\n{"b"', ':2}\n'])).toEqual(['{"a":1}', '{"b":2}']);
    const big = 'y'.repeat(100_000);
    const chunks = big.match(/.{1,997}/g)!.concat(['\n']);
    expect(split(chunks)).toEqual([big]);
  });

  it('holds a partial line until its newline or flush', () => {
    expect(split(['abc'])).toEqual([]);
    expect(split(['abc'], true)).toEqual(['abc']);
    expect(split(['a\n', 'b'], true)).toEqual(['a', 'b']);
    expect(split([], true)).toEqual([]);
  });

  it('drops the carriage return of CRLF line ends', () => {
    expect(split(['x\r\ny\r', '\n'])).toEqual(['x', 'y']);
  });
});
