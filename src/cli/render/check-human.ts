/**
 * Human output of `ddns check`: each step printed the moment it finishes; on a terminal the steps still
 * in flight are animated on a status line below; piped, plain lines only. Then a verdict line.
 */
import type { Paint } from '../output.js';
import type { CheckReport } from '../../check/report.js';
import type { Step, StepResult, StepStatus } from '../../check/step.js';

export interface Writer { write(s: string): unknown; isTTY?: boolean }

const LABEL: Record<StepStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function label(p: Paint, s: StepStatus): string {
  const t = LABEL[s];
  return s === 'pass' ? p.green(t) : s === 'warn' ? p.yellow(t) : s === 'fail' ? p.red(t) : p.dim(t);
}

/** The lines of one finished step (advice indented under it; details only when verbose). */
export function stepLines(r: StepResult, p: Paint, verbose: boolean): string[] {
  const out = [`${label(p, r.status)}  ${r.id.padEnd(8)} ${r.summary}${verbose ? p.dim(` (${r.ms} ms)`) : ''}`];
  if (verbose) for (const d of r.details ?? []) out.push(p.dim(`                ${d}`));
  if (r.advice) r.advice.split('\n').forEach((line, i) => out.push(`                ${i === 0 ? p.bold('→') : ' '} ${line}`));
  return out;
}

export function verdictLine(rep: CheckReport, p: Paint): string {
  const failed = rep.steps.filter((s) => s.status === 'fail').length;
  const warned = rep.steps.filter((s) => s.status === 'warn').length;
  const addr = [rep.publicAddress['4'], rep.publicAddress['6']].filter((a): a is string => a !== null).join(', ') || 'unknown';
  const head = failed > 0 ? p.red(`${failed} step${failed === 1 ? '' : 's'} failed`) : warned > 0 ? p.yellow(`ok with ${warned} warning${warned === 1 ? '' : 's'}`) : p.green('ok');
  return `${head} — NAT: ${rep.nat}, public address: ${addr} (${(rep.ms / 1000).toFixed(2)} s)`;
}

/** Live progress: hand `onStart`/`onFinish` to the check, call `end(report)` after. */
export function liveRenderer(out: Writer, p: Paint, o: { verbose: boolean; animate: boolean; intervalMs?: number }) {
  const inflight = new Map<string, string>();
  let frame = 0;
  let statusShown = false;
  let timer: NodeJS.Timeout | undefined;
  const clear = () => { if (statusShown) { out.write('\r\x1b[2K'); statusShown = false; } };
  const draw = () => {
    if (!o.animate || inflight.size === 0) return;
    const f = FRAMES[frame++ % FRAMES.length] ?? '*';
    out.write(`\r\x1b[2K${p.dim(`${f} ${[...inflight.values()].join(', ')}…`)}`);
    statusShown = true;
  };
  return {
    onStart(step: Step) {
      inflight.set(step.id, step.title);
      if (o.animate && !timer) { timer = setInterval(() => { clear(); draw(); }, o.intervalMs ?? 80); timer.unref(); }
      clear(); draw();
    },
    onFinish(r: StepResult) {
      inflight.delete(r.id);
      clear();
      out.write(`${stepLines(r, p, o.verbose).join('\n')}\n`);
      draw();
    },
    end(rep: CheckReport) {
      if (timer) clearInterval(timer);
      clear();
      out.write(`${verdictLine(rep, p)}\n`);
    },
  };
}
