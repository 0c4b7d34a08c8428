// Adds vitest's and pytest's counts into one closing line, so the CI log states the whole suite.
import { readFileSync, existsSync } from 'node:fs';
const [vitestJson, pytestXml] = process.argv.slice(2);
let passed = 0,
  failed = 0,
  skipped = 0;
if (existsSync(vitestJson)) {
  const v = JSON.parse(readFileSync(vitestJson, 'utf8'));
  // A file that failed before running any test (import error, hook failure) counts as one failure.
  const brokenFiles = (v.testResults ?? []).filter(
    (r) => r.status === 'failed' && !(r.assertionResults ?? []).some((a) => a.status === 'failed'),
  ).length;
  passed += v.numPassedTests;
  failed += v.numFailedTests + brokenFiles;
  skipped += v.numPendingTests + (v.numTodoTests ?? 0);
} else {
  console.log(`test-summary: ${vitestJson} missing (vitest did not finish)`);
  failed += 1;
}
if (existsSync(pytestXml)) {
  const x = readFileSync(pytestXml, 'utf8');
  const m = x.match(/<testsuite [^>]*>/)?.[0] ?? '';
  const n = (k) => Number(m.match(new RegExp(`${k}="(\\d+)"`))?.[1] ?? 0);
  const tests = n('tests'),
    f = n('failures') + n('errors'),
    s = n('skipped');
  passed += tests - f - s;
  failed += f;
  skipped += s;
} else {
  console.log(`test-summary: ${pytestXml} missing (pytest did not finish)`);
  failed += 1;
}
console.log(`\ntotal: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
