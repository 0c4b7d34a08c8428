/** Maps recipe field paths and source offsets to the line and column a person sees in an editor. */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { formatPath, type RecipeIssue } from './errors.js';

export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    readonly file: string,
  ) {}

  /** An issue at a source offset (syntax errors). */
  offset(offset: number, path: string, message: string, hint?: string): RecipeIssue {
    const { line, col } = this.lines.linePos(Math.max(0, offset));
    return {
      file: this.file,
      line: Math.max(1, line),
      column: Math.max(1, col),
      path,
      message,
      ...(hint ? { hint } : {}),
    };
  }

  /**
   * An issue for a field. `key`: point at the key (unknown keys); `value`: at a scalar value, or
   * at the key of a collection value. A path that does not exist (missing field) points at the
   * deepest mapping that does, by its key when it has one.
   */
  issue(path: readonly PropertyKey[], mode: 'key' | 'value', message: string, hint?: string): RecipeIssue {
    const found = this.find(path);
    let node: Node | null | undefined;
    if (!found.complete) node = found.key ?? found.node;
    else if (mode === 'key') node = found.key ?? found.node;
    else node = isScalar(found.node) && found.node.value !== null ? found.node : (found.key ?? found.node);
    const offset = node?.range?.[0] ?? this.doc.contents?.range?.[0] ?? 0;
    return this.offset(offset, formatPath(path), message, hint);
  }

  private find(path: readonly PropertyKey[]): { complete: boolean; node?: Node | null; key?: Node } {
    let node = this.doc.contents as Node | null;
    let key: Node | undefined;
    for (const seg of path) {
      if (isAlias(node)) node = (node.resolve(this.doc) as Node | undefined) ?? null;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return { complete: false, node, key };
        key = pair.key as Node;
        node = pair.value as Node | null;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        node = node.items[seg] as Node;
        key = undefined;
      } else {
        return { complete: false, node, key };
      }
    }
    return { complete: true, node, key };
  }
}
