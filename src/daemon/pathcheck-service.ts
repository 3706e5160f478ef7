/**
 * The daemon's own path check as a service: `ddns check`'s steps every `daemon.checkInterval` and soon
 * after each change the reporter hears of (`reporter.changed`: a mapping re-created, the address moved,
 * a record updated, a tunnel back). Scheduling and diffing are pathcheck.ts; results go to the reporter
 * (metrics, `path.*` events, notifications) and to /status.json through `status()`.
 *
 * Contract: as DaemonService (service.ts). The check itself is injected (`run`): it observes and never
 * changes the router or the records (the check's own contract), and writes the LAN history through the
 * daemon's store.
 */
import type { CheckReport } from '../check/report.js';
import type { Config } from '../config/schema.js';
import { PathChecker } from './pathcheck.js';
import type { DaemonService, ServiceContext } from './service.js';
import type { StateStore } from '../state/store.js';
import type { PublicIpReport } from '../publicip/detect.js';
import type { CheckStatus } from './status.js';

/** Runs `ddns check` with this configuration (cli/run.ts wires the real one). */
/** `detection`: the watcher's last confirmed public addresses (the check uses them instead of asking the echo services again). */
export type PathCheckFn = (config: Config, o: { signal: AbortSignal; store: StateStore; detection?: PublicIpReport }) => Promise<CheckReport>;

export interface PathCheckServiceOptions {
  run: PathCheckFn;
  /** The watcher's last detection, when there is one. */
  detection?: () => PublicIpReport | undefined;
  /** Delay between a change and its check; default 5 s. */
  settleMs?: number;
}

export class PathCheckService implements DaemonService {
  readonly name = 'pathcheck';
  private readonly checker: PathChecker;
  private config: Config;

  constructor(private readonly ctx: ServiceContext, o: PathCheckServiceOptions) {
    this.config = ctx.config;
    this.checker = new PathChecker({
      intervalMs: ctx.config.daemon.checkInterval * 1000,
      ...(o.settleMs !== undefined ? { settleMs: o.settleMs } : {}),
      clock: ctx.clock,
      run: (_reasons, signal) => {
        const detection = o.detection?.();
        return o.run(this.config, { signal, store: ctx.store, ...(detection ? { detection } : {}) });
      },
      onResult: (r) => ctx.reporter.pathCheck(r),
      onError: (err) => ctx.log.error({ event: 'daemon.bug', where: 'pathcheck', err }),
    });
    ctx.reporter.onChange((reason) => this.checker.changed(reason));
  }

  start(): void {
    this.checker.changed('start');
  }

  reload(config: Config): Promise<void> {
    this.config = config;
    this.checker.setInterval(config.daemon.checkInterval * 1000);
    this.checker.changed('reload');
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return this.checker.stop();
  }

  /** The last check as /status.json shows it, and when the next is due. */
  status(): { check: CheckStatus | null; nextAt: number | undefined } {
    const last = this.checker.last;
    return {
      check: last ? { ...last.report, at: new Date(last.at).toISOString(), reasons: last.reasons } : null,
      nextAt: this.checker.nextAt,
    };
  }
}
