/**
 * Push notifications where people read them: ntfy, Discord, Slack, Telegram, Gotify — the request each
 * documents for "post one message", built from a daemon event. Pure: notify.ts sends what this returns.
 *
 * Text: a title (ASCII: ntfy carries it in a header) that says what happened and the event's message, which says what changed and, for a
 * hold, a failure or a failed path step, what to do (the daemon writes `why — fix`). Heartbeats are not
 * pushed (they would page someone every cycle); only events are.
 *
 * - ntfy: `POST <topic URL>`, body = the text, headers `Title`, `Priority` (4 for hold/failure, 3
 *   otherwise), `Tags`; `Authorization: Bearer <token>` when a token is set.
 * - Discord: `POST <webhook URL>` JSON `{ content }` (at most 2000 characters), `allowed_mentions` empty.
 * - Slack: `POST <incoming webhook URL>` JSON `{ text }`.
 * - Telegram: `POST <apiUrl>/bot<botToken>/sendMessage` JSON `{ chat_id, text }` (at most 4096).
 * - Gotify: `POST <server>/message` with `X-Gotify-Key: <token>`, JSON `{ title, message, priority }`.
 */
import type { NotifyConfig } from '../config/schema.js';
import type { Notification, OutgoingRequest } from './notify.js';

export const PUSH_TYPES = ['ntfy', 'discord', 'slack', 'telegram', 'gotify'] as const;
export type PushType = (typeof PUSH_TYPES)[number];
export const TELEGRAM_API = 'https://api.telegram.org';

const TITLES: Record<Notification['event'], string> = {
  change: 'ddns: a record now points at a new address',
  hold: 'ddns: a provider refused a record: action needed',
  failure: 'ddns: the daemon is not ready',
  recovery: 'ddns: the daemon is ready again',
  path: 'ddns: the path check changed',
};

/** Title and body for people (control characters removed, length capped). Pure. */
export function pushText(e: Notification, max: number): { title: string; body: string } {
  const title = e.event === 'path' && e.ok === false ? 'ddns: a path check step fails: action needed' : TITLES[e.event];
  const body = e.message.replace(/\p{Cc}+/gu, ' ').trim();
  return { title, body: body.length > max ? `${body.slice(0, max - 1)}…` : body };
}

const urgent = (e: Notification): boolean => e.event === 'hold' || e.event === 'failure' || (e.event === 'path' && e.ok === false);
const json = { 'content-type': 'application/json' };

/** The request a push target gets for an event. Pure. */
export function pushRequest(target: NotifyConfig & { type: PushType }, e: Notification): OutgoingRequest | undefined {
  switch (target.type) {
    case 'ntfy': {
      if (!target.url) return undefined;
      const { title, body } = pushText(e, 4000);
      const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', title, priority: urgent(e) ? '4' : '3', tags: urgent(e) ? 'warning' : 'globe_with_meridians' };
      if (target.token) headers.authorization = `Bearer ${target.token}`;
      return { method: 'POST', url: new URL(target.url), headers, body };
    }
    case 'discord': {
      if (!target.url) return undefined;
      const { title, body } = pushText(e, 1900);
      return { method: 'POST', url: new URL(target.url), headers: json, body: JSON.stringify({ content: `**${title}**\n${body}`, allowed_mentions: { parse: [] } }) };
    }
    case 'slack': {
      if (!target.url) return undefined;
      const { title, body } = pushText(e, 3000);
      return { method: 'POST', url: new URL(target.url), headers: json, body: JSON.stringify({ text: `*${title}*\n${body}` }) };
    }
    case 'telegram': {
      if (!target.botToken || !target.chatId) return undefined;
      const { title, body } = pushText(e, 4000);
      const url = new URL(`${(target.apiUrl ?? TELEGRAM_API).replace(/\/+$/, '')}/bot${target.botToken}/sendMessage`);
      return { method: 'POST', url, headers: json, body: JSON.stringify({ chat_id: target.chatId, text: `${title}\n${body}`, disable_web_page_preview: true }) };
    }
    case 'gotify': {
      if (!target.url || !target.token) return undefined;
      const { title, body } = pushText(e, 4000);
      const url = new URL(target.url);
      url.pathname = `${url.pathname.replace(/\/+$/, '')}/message`;
      return { method: 'POST', url, headers: { ...json, 'x-gotify-key': target.token }, body: JSON.stringify({ title, message: body, priority: urgent(e) ? 8 : 4 }) };
    }
  }
}
