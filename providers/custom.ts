/**
 * `custom`: any update URL the user writes, for services without a provider of their own.
 *
 * The URL (and the body, when given) is a template: `{name}` the record's name, `{ip}` the address sent
 * (IPv4 when both families are sent), `{ip4}`, `{ip6}` (empty when that family is not sent). In the URL
 * the values are URL-encoded; in the body they are inserted as they are. The answer counts as success
 * when its status is in `successStatus` (default any 2xx) and its body matches `success` (a regular
 * expression; default any body). One request per record and update; no redirects followed.
 *
 * The URL is a secret (it usually carries a token): it never appears in a log line or an Outcome —
 * those name only `custom <name>` and the URL's host. Header values are secrets too.
 */
import type { CustomRecordConfig } from '../src/config/schema.js';
import { describeError, withTimeout } from '../src/net/abort.js';
import { exchange } from '../src/net/http-client.js';
import { USER_AGENT, parseRetryAfter } from './http.js';
import { type Addresses, type Outcome, type Provider, type ProviderContext, mapLimit, outcome } from './provider.js';

const MAX_BODY = 64 * 1024;
const CONCURRENCY = 4;

export interface TemplateValues { name: string; ip: string; ip4: string; ip6: string }

export function templateValues(name: string, send: Addresses): TemplateValues {
  return { name: name.toLowerCase().replace(/\.$/, ''), ip: send[4] ?? send[6] ?? '', ip4: send[4] ?? '', ip6: send[6] ?? '' };
}

/** Fills `{name} {ip} {ip4} {ip6}` in `template`; `encode` URL-encodes the values. Other braces stay. Pure. */
export function fill(template: string, values: TemplateValues, encode: boolean): string {
  return template.replace(/\{(name|ip|ip4|ip6)\}/g, (_, k: keyof TemplateValues) => (encode ? encodeURIComponent(values[k]) : values[k]));
}

/** The URL's host, the only part of it that may be shown. */
function hostOf(url: string): string {
  try { return new URL(url.replace(/\{(name|ip|ip4|ip6)\}/g, 'x')).host; } catch { return '?'; }
}

/** Maps the answer to an Outcome by the record's success rule. Pure. */
export function judge(record: Pick<CustomRecordConfig, 'success' | 'successStatus' | 'name'>, status: number, body: string, send: Addresses, retryAfter?: string): Outcome {
  const okStatus = record.successStatus ? record.successStatus.includes(status) : status >= 200 && status < 300;
  const shown = JSON.stringify(body.replace(/\p{C}+/gu, ' ').slice(0, 80));
  if (!okStatus) {
    if (status === 429) return outcome.retryAfter(parseRetryAfter(retryAfter) ?? 60, 'the server answered 429 Too Many Requests');
    if (status === 401 || status === 403) {
      return outcome.held(`the update URL for ${record.name} was refused (HTTP ${status}): ${shown}`, 'check the token or credentials in url (or headers)');
    }
    return outcome.failed(`the update URL for ${record.name} answered HTTP ${status}: ${shown}`);
  }
  if (record.success !== undefined && !new RegExp(record.success).test(body)) {
    return outcome.failed(`the answer for ${record.name} (HTTP ${status}) does not match success /${record.success}/: ${shown}`);
  }
  return outcome.updated(send);
}

async function updateOne(record: CustomRecordConfig, send: Addresses, ctx: ProviderContext): Promise<Outcome> {
  const values = templateValues(record.name, send);
  const target = fill(record.url ?? '', values, true);
  const host = hostOf(record.url ?? '');
  if (!URL.canParse(target)) return outcome.held(`the update URL for ${record.name} is not a URL once filled in`, 'check the placeholders in url');
  const signal = withTimeout(ctx.timeoutMs, ctx.signal);
  const body = record.body !== undefined ? fill(record.body, values, false) : undefined;
  try {
    const res = await exchange(new URL(target), {
      method: record.method,
      headers: { 'user-agent': USER_AGENT, ...record.headers },
      ...(body !== undefined ? { body } : {}),
      signal,
      maxBytes: MAX_BODY,
    });
    if (!res.ok) return outcome.failed(`${host} answered more than ${MAX_BODY} bytes`);
    return judge(record, res.status, res.body, send, res.headers['retry-after']?.split(',')[0]?.trim());
  } catch (err) {
    // Error messages may quote the URL: say only the host.
    const why = signal.aborted && !ctx.signal.aborted ? `timed out after ${ctx.timeoutMs} ms` : describeError(err).split(target).join('<url>');
    return outcome.failed(`${host}: ${why}`);
  }
}

export const provider: Provider<CustomRecordConfig> = {
  name: 'custom',
  names: (record) => [record.name.toLowerCase().replace(/\.$/, '')],
  update: (items, ctx) => mapLimit(items, CONCURRENCY, async (item) => {
    const started = performance.now();
    const out = await updateOne(item.record, item.send, ctx);
    ctx.log.debug({ event: 'provider.request', provider: 'custom', host: hostOf(item.record.url ?? ''), name: item.record.name, kind: out.kind, ms: Math.round(performance.now() - started) });
    return out;
  }),
};
