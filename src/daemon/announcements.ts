/**
 * One listener for the router's NAT-PMP/PCP announcements (224.0.0.1:5350), shared by everyone in the
 * daemon that wants them: the address watcher (an announcement says the WAN address changed or the
 * router rebooted) and the forwards' upkeep (re-create after a reboot). The port is bound exclusively, so
 * a second listener in the same process would fail; this hub hands out subscriptions instead.
 *
 * Contract: `subscribe` has the signature of the portmap `listen` option (ListenOptions → ListenResult)
 * and never throws. The socket opens on the first subscription for a (gateway, interface) pair and closes
 * when the last subscriber leaves; a failure to bind is reported to every subscriber as a value.
 */
import { listenAnnouncements, type Announcement, type ListenOptions, type ListenResult } from '../portmap/natpmp.js';

export type ListenFn = (o: ListenOptions) => Promise<ListenResult>;

export class AnnouncementHub {
  private key: string | undefined;
  private socket: Promise<ListenResult> | undefined;
  private readonly subscribers = new Set<(a: Announcement) => void>();

  constructor(private readonly listen: ListenFn = listenAnnouncements) {}

  readonly subscribe: ListenFn = async (o) => {
    const key = `${o.gateway}|${o.interfaceAddress}|${o.port ?? ''}|${o.group ?? ''}`;
    if (this.key !== undefined && this.key !== key) this.closeSocket();
    if (!this.socket) {
      this.key = key;
      this.socket = this.listen({
        ...o,
        onAnnouncement: (a) => {
          for (const fn of [...this.subscribers]) {
            try { fn(a); } catch { /* one subscriber's bug must not starve the others */ }
          }
        },
      });
    }
    const r = await this.socket;
    if (!r.ok) {
      this.socket = undefined;
      this.key = undefined;
      return r;
    }
    const fn = o.onAnnouncement;
    this.subscribers.add(fn);
    return {
      ok: true,
      close: () => {
        this.subscribers.delete(fn);
        if (this.subscribers.size === 0) this.closeSocket();
      },
    };
  };

  close(): void {
    this.subscribers.clear();
    this.closeSocket();
  }

  private closeSocket(): void {
    const s = this.socket;
    this.socket = undefined;
    this.key = undefined;
    void s?.then((r) => { if (r.ok) r.close(); });
  }
}
