import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveRenderer, stepLines, verdictLine } from '../../src/cli/render/check-human.js';
import { paint } from '../../src/cli/output.js';
import type { CheckReport } from '../../src/check/report.js';
import type { Step, StepResult } from '../../src/check/step.js';

const plain = paint(false);
const step = (id: Step['id']): Step => ({ id, title: `${id} title`, needs: [], timeoutMs: 1, run: async () => ({ status: 'pass', summary: '' }) });
const result = (id: StepResult['id'], status: StepResult['status'], advice?: string): StepResult => ({ id, status, summary: `${id} summary`, ms: 5, ...(advice ? { advice } : {}) });
const report = (steps: StepResult[]): CheckReport => ({ ok: steps.every((s) => s.status !== 'fail'), nat: 'single', publicAddress: { '4': '44.0.0.2', '6': null }, steps, ms: 812 });

test('piped: one plain line per finished step, advice indented under it, no escape codes', () => {
  let out = '';
  const live = liveRenderer({ write: (s: string) => { out += s; } }, plain, { verbose: false, animate: false });
  live.onStart(step('lan'));
  live.onStart(step('router'));
  live.onFinish(result('router', 'warn', 'do this\nthen that'));
  live.onFinish(result('lan', 'pass'));
  live.end(report([result('lan', 'pass'), result('router', 'warn')]));
  assert.ok(!out.includes('\x1b'), 'no escape codes');
  assert.equal(out, [
    'WARN  router   router summary',
    '                → do this',
    '                  then that',
    'PASS  lan      lan summary',
    'ok with 1 warning — NAT: single, public address: 44.0.0.2 (0.81 s)',
    '',
  ].join('\n'));
});

test('on a terminal: the steps in flight are animated on a status line that finished steps replace', () => {
  let out = '';
  const live = liveRenderer({ write: (s: string) => { out += s; } }, plain, { verbose: false, animate: true, intervalMs: 5 });
  live.onStart(step('lan'));
  live.onStart(step('publicip'));
  assert.match(out, /lan title, publicip title…/);
  live.onFinish(result('lan', 'pass'));
  assert.ok(out.includes('\r\x1b[2KPASS  lan'), 'the status line is cleared before the finished step');
  assert.match(out.slice(out.lastIndexOf('PASS')), /publicip title…$/);
  live.end(report([result('lan', 'pass')]));
  assert.ok(out.endsWith('ok — NAT: single, public address: 44.0.0.2 (0.81 s)\n'));
});

test('verdict line counts failures; verbose lines carry details and timing', () => {
  assert.match(verdictLine(report([result('nat', 'fail'), result('dns', 'fail')]), plain), /^2 steps failed/);
  const lines = stepLines({ ...result('router', 'pass'), details: ['NAT-PMP answered'] }, plain, true);
  assert.match(lines[0] ?? '', /\(5 ms\)$/);
  assert.match(lines[1] ?? '', /NAT-PMP answered/);
});
