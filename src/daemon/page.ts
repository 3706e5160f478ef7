/**
 * The status page: one renderer for the daemon's `/` and for `ddns check --html FILE`.
 *
 * It draws the path left to right — this host → router → NAT → internet → DNS → from outside — one hop
 * per card, green / amber / red / grey from the path check's steps, with each step's summary and the
 * advice where it is not green; below, the records (current address, history), the forwards (leases) and
 * the tunnels. Plain server-rendered HTML: readable with scripts off, on a phone (the path stacks), in
 * dark mode, and from a file with no network (no external resource of any kind).
 *
 * Contract: pure (`now` is passed in). Every text is escaped and stripped of control characters (summaries
 * carry what routers and servers said). The only inline code is the `<style>` element, whose hash
 * `PAGE_CSP` allows; the live page loads one same-origin script (`/page.js`, `PAGE_SCRIPT`) and nothing
 * else. The document it draws carries no secret (status.ts), so neither does the page.
 */
import { createHash } from 'node:crypto';
import type { StepResult, StepStatus } from '../check/step.js';
import { revision, type CheckStatus, type ForwardStatus, type RecordStatus, type StatusDocument, type TunnelStatus } from './status.js';

export interface PageOptions {
  /** The daemon's live page (loads /page.js, refreshes itself) vs a one-shot file. */
  live: boolean;
  /** ms since epoch, for "next check in …". */
  now: number;
}

type Tone = 'pass' | 'warn' | 'fail' | 'skip';

export interface Hop {
  id: 'host' | 'router' | 'nat' | 'internet' | 'dns' | 'outside';
  title: string;
  tone: Tone;
  /** The hop's one fact in large type (an address, the NAT kind), when the check found it. */
  headline?: string;
  steps: StepResult[];
}

const HOPS: ReadonlyArray<{ id: Hop['id']; title: string; steps: readonly string[] }> = [
  { id: 'host', title: 'This host', steps: ['lan', 'dhcp'] },
  { id: 'router', title: 'Router', steps: ['router'] },
  { id: 'nat', title: 'NAT', steps: ['nat'] },
  { id: 'internet', title: 'Internet', steps: ['publicip'] },
  { id: 'dns', title: 'DNS', steps: ['dns'] },
  { id: 'outside', title: 'From outside', steps: ['reach', 'relay'] },
];

const RANK: Record<Tone, number> = { skip: 0, pass: 1, warn: 2, fail: 3 };
const TONE_WORD: Record<Tone, string> = { pass: 'OK', warn: 'Warning', fail: 'Broken', skip: 'Not checked' };
const NAT_WORD: Record<string, string> = { none: 'no NAT', single: 'single NAT', double: 'double NAT', cgnat: 'carrier-grade NAT', unknown: 'unknown' };

/** The worst status of the steps that ran (skips count only when nothing else ran). Pure. */
export function worst(statuses: readonly StepStatus[]): Tone {
  let t: Tone = 'skip';
  for (const s of statuses) if (RANK[s] > RANK[t]) t = s;
  return t;
}

/** The check's steps grouped into the hops of the path. Pure. */
export function hops(check: CheckStatus | null): Hop[] {
  const byId = new Map((check?.steps ?? []).map((s) => [s.id as string, s] as const));
  return HOPS.map((h) => {
    const steps = h.steps.map((id) => byId.get(id)).filter((s): s is StepResult => s !== undefined);
    const hop: Hop = { id: h.id, title: h.title, tone: worst(steps.map((s) => s.status)), steps };
    const headline = check ? headlineOf(h.id, check, steps) : undefined;
    if (headline) hop.headline = headline;
    return hop;
  });
}

function headlineOf(id: Hop['id'], c: CheckStatus, steps: readonly StepResult[]): string | undefined {
  const step = (sid: string) => steps.find((s) => s.id === sid);
  switch (id) {
    case 'host': {
      const lan = step('lan');
      return lan?.status === 'pass' ? /\b(\d{1,3}(?:\.\d{1,3}){3})\/\d+/.exec(lan.summary)?.[1] : undefined;
    }
    case 'router': {
      const r = step('router');
      if (!r || r.status === 'skip') return undefined;
      if (r.status === 'warn' && /no port-mapping protocol/.test(r.summary)) return 'no port mapping';
      const names = ['UPnP', 'NAT-PMP', 'PCP'].filter((n) => r.summary.split(';')[0]?.includes(n));
      return names.length ? names.join(' · ') : undefined;
    }
    case 'nat': return NAT_WORD[c.nat] ?? c.nat;
    case 'internet': return [c.publicAddress['4'], c.publicAddress['6']].filter((a): a is string => !!a).join(' · ') || 'no public address';
    case 'dns': return steps.length && steps.every((s) => s.status === 'pass') ? 'records current' : steps.some((s) => s.status === 'fail') ? 'records stale' : undefined;
    case 'outside': {
      const ran = steps.filter((s) => s.status !== 'skip');
      if (!ran.length) return undefined;
      return ran.some((s) => s.status === 'fail') ? 'not reachable' : 'reachable';
    }
  }
}

// ---- escaping -------------------------------------------------------------------------------------------

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML: control and bidi characters removed, markup characters escaped. Pure. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(CONTROL, '').replace(/[&<>"']/g, (c) => ENTITY[c]!);
}

const when = (isoTime: string) => {
  const d = new Date(isoTime);
  if (Number.isNaN(d.getTime())) return '';
  const text = `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<time datetime="${esc(d.toISOString())}">${esc(text)}</time>`;
};

// ---- the style (inline, allowed by its hash) -----------------------------------------------------------

const STYLE = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#1d2430;--mute:#5d6776;--line:#dde1e7;--pass:#1f8a4c;--pass-bg:#e6f4ec;--warn:#a66300;--warn-bg:#fdf1dc;--fail:#c62b2b;--fail-bg:#fbe6e6;--skip:#7a8391;--skip-bg:#eef0f3;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#12161c;--card:#1b2129;--ink:#e7eaee;--mute:#9aa4b2;--line:#2c3440;--pass:#4cc27c;--pass-bg:#173224;--warn:#f0a73a;--warn-bg:#3a2c12;--fail:#ff6b6b;--fail-bg:#3d1c1c;--skip:#8d96a3;--skip-bg:#232a33}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1280px;margin:0 auto;padding:16px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 16px;margin:4px 0 14px}
h1{font-size:20px;margin:0}
h2{font-size:16px;margin:26px 0 8px}
.meta{color:var(--mute);font-size:13px}
.stale{display:none;color:var(--fail);font-size:13px;font-weight:600}
.is-stale .stale{display:inline}
.verdict{border-radius:10px;padding:10px 14px;margin:0 0 14px;font-weight:600;border:1px solid var(--line)}
.verdict.pass{background:var(--pass-bg);color:var(--pass)}.verdict.warn{background:var(--warn-bg);color:var(--warn)}
.verdict.fail{background:var(--fail-bg);color:var(--fail)}.verdict.skip{background:var(--skip-bg);color:var(--skip)}
ol.path{list-style:none;margin:0;padding:0;display:flex;align-items:stretch;gap:0}
.hop{flex:1 1 0;min-width:0;display:flex;flex-direction:column;background:var(--card);border:1px solid var(--line);border-top:5px solid var(--skip);border-radius:10px;padding:10px 12px 12px}
.hop.pass{border-top-color:var(--pass)}.hop.warn{border-top-color:var(--warn)}.hop.fail{border-top-color:var(--fail)}
.arrow{flex:0 0 22px;align-self:center;text-align:center;color:var(--mute);font-size:18px}
.arrow::before{content:"\\2192"}
.hop h3{font-size:13px;margin:0;text-transform:uppercase;letter-spacing:.04em;color:var(--mute);display:flex;justify-content:space-between;align-items:flex-start;gap:6px}
.pill{font-size:11px;font-weight:700;letter-spacing:.02em;text-transform:none;border-radius:99px;padding:1px 8px;white-space:nowrap}
.pill.pass{background:var(--pass-bg);color:var(--pass)}.pill.warn{background:var(--warn-bg);color:var(--warn)}
.pill.fail{background:var(--fail-bg);color:var(--fail)}.pill.skip{background:var(--skip-bg);color:var(--skip)}
.headline{font-size:18px;font-weight:650;margin:6px 0 2px;overflow-wrap:anywhere}
.step{margin:6px 0 0;font-size:13px;overflow-wrap:anywhere}
.step b{font-weight:600}
.advice{margin:8px 0 0;padding:7px 9px;border-radius:7px;font-size:13px;white-space:pre-line;overflow-wrap:anywhere}
.hop.warn .advice,.advice.warn{background:var(--warn-bg)}.hop.fail .advice,.advice.fail{background:var(--fail-bg)}
.advice::before{content:"What to do: ";font-weight:700}
.extra{margin:10px 0 0;padding:0;list-style:none;font-size:13px;color:var(--mute)}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden;font-size:14px}
th,td{text-align:left;padding:8px 10px;border-top:1px solid var(--line);vertical-align:top;overflow-wrap:break-word}
th{border-top:0;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--mute);font-weight:600}
td.addr{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.bad{color:var(--fail)}.ok{color:var(--pass)}.meh{color:var(--warn)}
details{margin-top:4px}summary{cursor:pointer;color:var(--mute);font-size:13px}
details ol{margin:4px 0 0;padding-left:18px;font-size:13px}
.empty{background:var(--card);border:1px dashed var(--line);border-radius:10px;padding:12px 14px;color:var(--mute);font-size:14px}
footer{margin:28px 0 8px;color:var(--mute);font-size:12px}
@media (max-width:900px){ol.path{flex-direction:column}.arrow{flex-basis:20px}.arrow::before{content:"\\2193"}
 th.opt,td.opt{display:none}}
`.trim();

const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

/**
 * The Content-Security-Policy of the page: nothing but its own inline style (by hash) and, live, one
 * same-origin script that may fetch from the same origin. No images, fonts, frames, forms or plugins.
 */
export function pageCsp(live: boolean): string {
  return [
    "default-src 'none'",
    `style-src '${STYLE_HASH}'`,
    live ? "script-src 'self'" : '',
    live ? "connect-src 'self'" : '',
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].filter(Boolean).join('; ');
}

// ---- the page ------------------------------------------------------------------------------------------

export function renderPage(doc: StatusDocument, o: PageOptions): string {
  const check = doc.check;
  const path = hops(check);
  const overall = check ? worst(path.map((h) => h.tone)) : 'skip';
  const title = check ? `ddns — ${TONE_WORD[overall]}` : 'ddns — waiting for the first check';
  const csp = o.live ? '' : `<meta http-equiv="Content-Security-Policy" content="${esc(pageCsp(false))}">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${csp}<title>${esc(title)}</title>
<style>${STYLE}</style>
${o.live ? '<script src="/page.js" defer></script>\n' : ''}</head>
<body>
<main data-revision="${esc(revision(doc))}">
${header(doc, o)}
${verdict(path, check)}
<ol class="path" aria-label="The path from this host to the outside">
${path.map(hopCard).join('\n<li class="arrow" aria-hidden="true"></li>\n')}
</ol>
${otherSteps(check)}
<h2>Records</h2>
${records(doc.records)}
<h2>Forwards</h2>
${forwards(doc.forwards)}
<h2>Tunnels</h2>
${tunnels(doc.tunnels)}
<footer>ddns status · ${o.live ? 'refreshes by itself · <a href="/status.json">status.json</a> · <a href="/metrics">metrics</a>' : 'one-shot check written by ddns check --html'}</footer>
</main>
</body>
</html>
`;
}

function header(doc: StatusDocument, o: PageOptions): string {
  const c = doc.check;
  const parts: string[] = [];
  if (c) parts.push(`checked ${when(c.at)}${c.reasons.length ? ` (${esc(c.reasons.join(', '))})` : ''}`);
  else parts.push('the first path check has not finished yet');
  if (o.live && doc.nextCheckAt) parts.push(`next ${when(doc.nextCheckAt)}`);
  return `<header><h1>Network path</h1><span class="meta">${parts.join(' · ')}</span><span class="stale" role="status">· the daemon does not answer; this is the last page it sent</span></header>`;
}

function verdict(path: Hop[], check: CheckStatus | null): string {
  if (!check) return '<p class="verdict skip">Waiting for the first path check.</p>';
  const broken = path.find((h) => h.tone === 'fail');
  if (broken) return `<p class="verdict fail">The path is broken at: ${esc(broken.title.toLowerCase())}.</p>`;
  const warned = path.filter((h) => h.tone === 'warn');
  if (warned.length) return `<p class="verdict warn">The path works, with warnings at: ${esc(warned.map((h) => h.title.toLowerCase()).join(', '))}.</p>`;
  return '<p class="verdict pass">The path works: from this host to the outside, every hop answered.</p>';
}

function hopCard(h: Hop): string {
  const steps = h.steps.length
    ? h.steps.map((s) => `<p class="step"><b>${esc(s.id)}</b> ${lines(s.summary)}</p>${s.advice && s.status !== 'pass' && s.status !== 'skip' ? `<p class="advice ${s.status}">${esc(s.advice)}</p>` : ''}`).join('')
    : '<p class="step">not part of this check</p>';
  return `<li class="hop ${h.tone}" data-hop="${h.id}" data-tone="${h.tone}">
<h3>${esc(h.title)} <span class="pill ${h.tone}">${TONE_WORD[h.tone]}</span></h3>
${h.headline ? `<div class="headline">${esc(h.headline)}</div>` : ''}${steps}
</li>`;
}

/** Summaries join several findings with "; ": one line each on the page. */
function lines(summary: string): string {
  return summary.split('; ').map(esc).join('<br>');
}

function otherSteps(check: CheckStatus | null): string {
  const drawn = new Set(HOPS.flatMap((h) => h.steps));
  const rest = (check?.steps ?? []).filter((s) => !drawn.has(s.id));
  if (!rest.length) return '';
  return `<ul class="extra">${rest.map((s) => `<li><span class="pill ${s.status}">${TONE_WORD[s.status]}</span> <b>${esc(s.id)}</b>: ${esc(s.summary)}${s.advice && s.status !== 'pass' ? ` — ${esc(s.advice)}` : ''}</li>`).join('')}</ul>`;
}

const RESULT_TONE: Record<string, 'ok' | 'meh' | 'bad'> = { updated: 'ok', unchanged: 'ok', current: 'ok', held: 'bad', failed: 'bad', waiting: 'meh', retryAfter: 'meh' };

function records(rs: readonly RecordStatus[]): string {
  if (!rs.length) return '<p class="empty">No records configured (add <b>records</b> to the configuration).</p>';
  const rows = rs.map((r) => {
    const addrs = (['4', '6'] as const).map((f) => r.addresses[f]).filter((a) => a !== undefined);
    const current = addrs.length ? addrs.map((a) => `${esc(a.address)}`).join('<br>') : '—';
    const since = addrs.length ? addrs.map((a) => when(a.since)).join('<br>') : '';
    const result = r.result ? `<span class="${RESULT_TONE[r.result] ?? 'meh'}">${esc(r.result)}</span>${r.why ? `<br>${esc(r.why)}` : ''}${r.fix ? `<br>${esc(r.fix)}` : ''}` : '—';
    const history = r.history.length
      ? `<details><summary>${r.history.length} change${r.history.length === 1 ? '' : 's'}</summary><ol>${r.history.map((h) => `<li>${when(h.at)}: IPv${h.family} ${esc(h.from ?? '(none)')} → ${esc(h.to)}</li>`).join('')}</ol></details>`
      : '';
    return `<tr><td>${esc(r.name)}${history}</td><td class="opt">${esc(r.provider)}</td><td class="addr">${current}</td><td class="opt">${since}</td><td>${result}</td></tr>`;
  });
  return `<table><thead><tr><th>Name</th><th class="opt">Provider</th><th>Address</th><th class="opt">Since</th><th>Last update</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function forwards(fs: readonly ForwardStatus[]): string {
  if (!fs.length) return '<p class="empty">No forwards configured (add <b>forwards</b> to keep ports open on the router).</p>';
  const rows = fs.flatMap((f) => {
    const out: string[] = [];
    const m = f.mapping;
    const families = f.families ?? [4];
    if (m === undefined && f.pinhole === undefined) {
      out.push(`<tr><td class="addr">${esc(f.protocol.toUpperCase())} ${f.externalPort} → this host:${f.internalPort}</td><td class="opt">${esc(f.description ?? '')}</td><td colspan="2">configured; a one-shot check does not hold mappings (the reach step says whether it answers from outside)</td></tr>`);
    } else if (families.includes(4) && m !== undefined) {
      const target = m ? `${esc(m.internalAddress)}:${m.internalPort}` : `this host:${f.internalPort}`;
      const state = m
        ? `<span class="ok">mapped</span> via ${esc(m.via)}`
        : `<span class="bad">not mapped</span>${f.problem ? `<br>${esc(f.problem)}` : ''}`;
      const lease = m ? (m.expiresAt ? `${m.leaseSeconds} s, until ${when(m.expiresAt)}` : 'permanent') : '—';
      out.push(`<tr><td class="addr">${esc(f.protocol.toUpperCase())} ${f.externalPort} → ${target}</td><td class="opt">${esc(f.description ?? '')}</td><td>${state}</td><td>${lease}</td></tr>`);
    }
    if (families.includes(6) && f.pinhole !== undefined) {
      const p = f.pinhole;
      const target = p ? `[${esc(p.internalAddress)}]:${p.internalPort}` : `this host:${f.internalPort}`;
      const state = p
        ? `<span class="ok">pinhole open</span> (${p.id !== undefined ? `#${p.id}` : esc(p.via.toUpperCase())})`
        : `<span class="bad">no pinhole</span>${f.pinholeProblem ? `<br>${esc(f.pinholeProblem)}` : ''}`;
      const lease = p ? `${p.leaseSeconds} s, until ${when(p.expiresAt)}` : '—';
      out.push(`<tr><td class="addr">IPv6 ${esc(f.protocol.toUpperCase())} ${f.internalPort} → ${target}</td><td class="opt">${esc(f.description ?? '')}</td><td>${state}</td><td>${lease}</td></tr>`);
    }
    return out;
  });
  return `<table><thead><tr><th>Forward</th><th class="opt">Description</th><th>Router</th><th>Lease</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function tunnels(ts: readonly TunnelStatus[]): string {
  if (!ts.length) return '<p class="empty">No tunnels. Behind carrier-grade NAT, a reverse tunnel through a relay you own (<b>tunnels</b> in the configuration) carries the traffic instead of a forward.</p>';
  const tone = { up: 'ok', connecting: 'meh', down: 'bad' } as const;
  const rows = ts.map((t) => `<tr><td class="addr">${esc(t.relay)}</td><td><span class="${tone[t.state] ?? 'meh'}">${esc(t.state)}</span>${t.since ? ` since ${when(t.since)}` : ''}<br>${esc(t.summary)}</td><td class="addr">${t.forwards.map(esc).join('<br>')}</td></tr>`);
  return `<table><thead><tr><th>Relay</th><th>State</th><th>Forwards</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * The live page's script, served same-origin at /page.js: every 10 s it asks /status.json; when the
 * revision moved it fetches `/` again and swaps in the new `<main>` (the server renders, the script never
 * builds markup from data); it shows times as "3 min ago" and marks the page stale while the daemon does
 * not answer. Read-only: GET requests to its own origin, nothing else.
 */
export const PAGE_SCRIPT = `'use strict';
(function () {
  var EVERY = 10000;
  function ago(ms) {
    var s = Math.round(ms / 1000), a = Math.abs(s), w;
    if (a < 45) w = a + ' s'; else if (a < 5400) w = Math.round(a / 60) + ' min'; else if (a < 129600) w = Math.round(a / 3600) + ' h'; else w = Math.round(a / 86400) + ' days';
    return s >= 0 ? w + ' ago' : 'in ' + w;
  }
  function times() {
    var now = Date.now();
    document.querySelectorAll('time[datetime]').forEach(function (t) {
      var at = Date.parse(t.getAttribute('datetime'));
      if (isNaN(at)) return;
      if (!t.title) t.title = t.textContent;
      t.textContent = ago(now - at);
    });
  }
  function stale(on) { document.body.classList.toggle('is-stale', on); }
  function swap() {
    return fetch('/', { cache: 'no-store', credentials: 'omit' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.text();
    }).then(function (html) {
      var next = new DOMParser().parseFromString(html, 'text/html').querySelector('main');
      var cur = document.querySelector('main');
      if (next && cur) cur.replaceWith(document.adoptNode(next));
      document.title = new DOMParser().parseFromString(html, 'text/html').title || document.title;
    });
  }
  function tick() {
    fetch('/status.json', { cache: 'no-store', credentials: 'omit' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (doc) {
      stale(false);
      var main = document.querySelector('main');
      if (main && doc && doc.revision !== main.getAttribute('data-revision')) return swap();
    }).catch(function () { stale(true); }).then(function () {
      times();
      document.documentElement.setAttribute('data-refreshed', String(Date.now()));
      setTimeout(tick, EVERY);
    });
  }
  times();
  setTimeout(tick, EVERY);
})();
`;
