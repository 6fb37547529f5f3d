// Times the phases of one job back to back, for the worker's log and the benchmark's breakdown.
import type { Phases } from './protocol/result.js';

/** The phases that are durations (not the pool hit). */
export type PhaseName = Exclude<keyof Phases, 'poolHit'>;

export interface PhaseClock {
  /** Ends the phase running since the previous lap (or since the clock started) and records it as `name`. */
  lap(name: PhaseName): void;
  readonly phases: Phases;
}

export function phaseClock(): PhaseClock {
  let last = performance.now();
  const phases: Phases = {};
  return {
    lap(name) {
      const now = performance.now();
      phases[name] = Math.round((now - last) * 10) / 10;
      last = now;
    },
    phases,
  };
}
