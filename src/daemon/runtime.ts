/**
 * V8 settings for a long-running, mostly idle daemon (README "Performance": `ddns run` idle RSS is a budget).
 * Measured on these machines, each as the first thing `ddns run` does:
 * - `--liftoff-only`: V8's optimizing tier-up of a WebAssembly module (undici's llhttp parser) cost ~35 MiB
 *   of transient memory on its first request (peak RSS 98 → 63 MiB in a three-request test). The daemon's
 *   HTTP now goes through node:http/https (src/net/http-client.ts), so it compiles WebAssembly only with
 *   tunnels (ssh2's poly1305) or undici (the UPnP client's selectable transport). Kept for those: without
 *   them it changes nothing measurable (lab, Node 24.11.1, one record + one forward, 60 s idle, two runs
 *   each, alternated: VmRSS 67.2/67.1 MiB with it, 69.1/67.4 MiB without).
 * - `--semi-space-growth-factor=1`: the young generation stays at its initial size instead of growing
 *   to 16 MiB semi-spaces after a burst of allocation, which V8 then keeps (idle RSS 79 → 49 MiB in a
 *   synthetic test; 85 → ~65 MiB for the daemon in the lab). More frequent, smaller scavenges.
 * - `--optimize-for-size`: V8 favours memory over speed (smaller heap growth steps); a small gain in the
 *   lab (1–5 MiB after a minute, within the noise of two runs) at a CPU cost an idle daemon never feels.
 * - `--no-opt --no-maglev`: no optimizing tiers (TurboFan, Maglev); the interpreter and the baseline compiler
 *   (Sparkplug) run the daemon's few calls a minute. Their code and their compilations' memory stay out:
 *   lab, Node 24, one record + one forward, 60 s idle: VmRSS 76.2 → 71.8 MiB, CPU the same (0.48 %).
 *   (Given on the command line, before start-up compiles anything, the same flags measured 67.1 MiB.)
 * They are read by V8 when it compiles WebAssembly / sizes the heap, so setting them at run time works;
 * an unknown flag on some other V8 is ignored. Never throws.
 */
import { setFlagsFromString } from 'node:v8';

export const IDLE_FLAGS = ['--liftoff-only', '--semi-space-growth-factor=1', '--optimize-for-size', '--no-opt', '--no-maglev'] as const;

export function tuneForIdle(): void {
  for (const flag of IDLE_FLAGS) {
    try {
      setFlagsFromString(flag);
    } catch {
      // A V8 without the flag: the daemon works the same, with more memory.
    }
  }
}
