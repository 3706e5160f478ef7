/**
 * Whether lab tests can run here. The lab needs root (network namespaces). Locally without root the lab
 * files skip with one loud line; in CI (CI set) they run anyway and fail at startLab, because CI must run
 * the lab — a skip there would hide a broken lab.
 */
import { isRoot } from './lab.js';

let said = false;

/** `false` to run, or the reason to skip (for node:test's `skip` option). */
export function labSkip(): string | false {
  if (isRoot() || process.env.CI) return false;
  if (!said) {
    said = true;
    process.stderr.write('\n*** LAB SKIPPED: network namespaces need root (run npm test as root); CI runs these as root ***\n\n');
  }
  return 'the lab needs root';
}
