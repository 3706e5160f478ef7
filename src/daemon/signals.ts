/**
 * Signals of `ddns run`: SIGTERM and SIGINT stop (gracefully; a second one while stopping is only
 * logged — the hard deadline in daemon.ts ends the process anyway), SIGHUP reloads the configuration.
 *
 * Contract: handlers never throw into the emitter; the returned function removes them again.
 */
export type StopSignal = 'SIGTERM' | 'SIGINT';

export interface SignalSource {
  on(event: 'SIGTERM' | 'SIGINT' | 'SIGHUP', listener: () => void): unknown;
  off(event: 'SIGTERM' | 'SIGINT' | 'SIGHUP', listener: () => void): unknown;
}

export interface SignalHandlers {
  stop(signal: StopSignal): void;
  reload(): void;
}

export function onSignals(source: SignalSource, h: SignalHandlers): () => void {
  const safe = (fn: () => void) => () => { try { fn(); } catch { /* a handler's bug must not kill the process mid-cycle */ } };
  const term = safe(() => h.stop('SIGTERM'));
  const int = safe(() => h.stop('SIGINT'));
  const hup = safe(() => h.reload());
  source.on('SIGTERM', term);
  source.on('SIGINT', int);
  source.on('SIGHUP', hup);
  return () => {
    source.off('SIGTERM', term);
    source.off('SIGINT', int);
    source.off('SIGHUP', hup);
  };
}
