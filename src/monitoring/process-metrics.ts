import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, Histogram, type Registry, collectDefaultMetrics } from 'prom-client';

/**
 * prom-client's default process metrics (CPU, memory, heap spaces, handles, file descriptors,
 * version, event-loop lag, GC durations), under the same names, but with an end.
 *
 * collectDefaultMetrics starts an event-loop delay monitor and a GC observer that nothing can stop:
 * each closed app left both running, the monitor's timer firing every 10 ms and the observer called at
 * every collection, and each holding on to everything reachable from where it was started. In the
 * test suite, which starts and closes hundreds of apps per process, that kept every test file's
 * modules in memory (the heap grew by ~27 MB per file) and made every later garbage collection and
 * embedded-database start slower. Here the nine pulled metrics come from prom-client as they are, and
 * the two that hook into the process are ours, undone by `stop()`.
 */

/** prom-client's default metrics that only read the process when scraped (lib/metrics/<name>.js). */
export const PULLED_DEFAULT_METRICS = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
] as const;
/** The two that start a monitor or an observer, replaced below. */
export const HOOKED_DEFAULT_METRICS = ['eventLoopLag', 'gc'] as const;

/** prom-client's own list of default metrics, to check ours against when prom-client changes. */
export const PROM_CLIENT_DEFAULT_METRICS: readonly string[] = (collectDefaultMetrics as unknown as { metricsList: string[] }).metricsList;

type DefaultMetric = (registry: Registry, config: { prefix: string }) => void;

/** Resolution of the event-loop delay monitor, as prom-client's default (eventLoopMonitoringPrecision). */
const EVENT_LOOP_RESOLUTION_MS = 10;
/** prom-client's GC duration buckets, in seconds. */
const GC_DURATION_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export interface ProcessMetrics {
  /** Stops the event-loop monitor and the GC observer; the pulled metrics need nothing. */
  stop(): void;
}

export function collectProcessMetrics(registry: Registry, prefix: string): ProcessMetrics {
  for (const name of PULLED_DEFAULT_METRICS) {
    // Resolved at run time from prom-client's own folder: these modules are not in its typings.
    (require(`prom-client/lib/metrics/${name}`) as DefaultMetric)(registry, { prefix });
  }
  const stopLag = eventLoopLag(registry, prefix);
  const stopGc = gcDurations(registry, prefix);
  return {
    stop() {
      stopLag();
      stopGc();
    },
  };
}

/** nodejs_eventloop_lag_* as prom-client reports them: the delay histogram's statistics since the last scrape. */
function eventLoopLag(registry: Registry, prefix: string): () => void {
  const delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  delay.enable();
  const gauge = (suffix: string, help: string, aggregator: 'average' | 'min' | 'max', collect?: () => void) =>
    new Gauge({ name: `${prefix}nodejs_eventloop_lag${suffix}_seconds`, help, aggregator, registers: [registry], ...(collect ? { collect } : {}) });
  const lag = gauge('', 'Lag of event loop in seconds.', 'average', () => {
    // As prom-client: the lag itself is measured by one turn of the loop, ready at the next scrape.
    const start = process.hrtime.bigint();
    setImmediate(() => lag.set(Number(process.hrtime.bigint() - start) / 1e9));
    min.set(delay.min / 1e9);
    max.set(delay.max / 1e9);
    mean.set(delay.mean / 1e9);
    stddev.set(delay.stddev / 1e9);
    p50.set(delay.percentile(50) / 1e9);
    p90.set(delay.percentile(90) / 1e9);
    p99.set(delay.percentile(99) / 1e9);
    delay.reset();
  });
  const min = gauge('_min', 'The minimum recorded event loop delay.', 'min');
  const max = gauge('_max', 'The maximum recorded event loop delay.', 'max');
  const mean = gauge('_mean', 'The mean of the recorded event loop delays.', 'average');
  const stddev = gauge('_stddev', 'The standard deviation of the recorded event loop delays.', 'average');
  const p50 = gauge('_p50', 'The 50th percentile of the recorded event loop delays.', 'average');
  const p90 = gauge('_p90', 'The 90th percentile of the recorded event loop delays.', 'average');
  const p99 = gauge('_p99', 'The 99th percentile of the recorded event loop delays.', 'average');
  return () => delay.disable();
}

/** nodejs_gc_duration_seconds by kind, as prom-client reports it. */
function gcDurations(registry: Registry, prefix: string): () => void {
  const histogram = new Histogram({
    name: `${prefix}nodejs_gc_duration_seconds`,
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    buckets: GC_DURATION_BUCKETS,
    registers: [registry],
  });
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS[((entry as { detail?: { kind?: number } }).detail)?.kind ?? -1] ?? 'unknown';
      histogram.observe({ kind }, entry.duration / 1_000);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
