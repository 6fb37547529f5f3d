// Samples the sandbox cgroup's resident memory while the job runs. The kernel keeps no peak of anonymous +
// tmpfs memory alone (its peak counters include page cache), so the runner records the highest sample above
// the level before the run. Short spikes in one process are still caught exactly by that process's peak RSS.
import { readResidentKb } from './cgroupCounters.js';

const INTERVAL_MS = 10;

export interface MemorySampler {
  /** Stops sampling; the job's highest resident memory above the baseline, in KB (0 when not visible). */
  stop(): number;
}

export function sampleMemory(): MemorySampler {
  const baseline = readResidentKb();
  if (baseline === null) return { stop: () => 0 };
  let peak = baseline;
  const sample = () => {
    const now = readResidentKb();
    if (now !== null && now > peak) peak = now;
  };
  const timer = setInterval(sample, INTERVAL_MS);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Math.round(peak - baseline);
    },
  };
}
