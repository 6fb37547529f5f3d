// A local HTTP endpoint that answers PutMetricData as CloudWatch does and records each call. The installed
// @aws-sdk/client-cloudwatch speaks AWS JSON 1.0 (X-Amz-Target GraniteServiceVersion20100801.PutMetricData,
// a JSON body, `{}` in answer); large bodies may come gzipped.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface PutMetricDataCall {
  headers: IncomingHttpHeaders;
  body: { Namespace: string; MetricData: { MetricName: string; Value: number; Unit: string; Timestamp: number; Dimensions?: unknown[] }[] };
}

export interface CloudWatchRecorder {
  url: string;
  calls: PutMetricDataCall[];
  /** While true, every call is answered with a 500 fault (and not recorded). */
  failing: boolean;
  /** The next call (from now on) that matches; fails loudly after timeoutMs. */
  next(match?: (c: PutMetricDataCall) => boolean, timeoutMs?: number): Promise<PutMetricDataCall>;
  stop(): Promise<void>;
}

/** { QueueDepth: n, PendingJobs: m } of one call. */
export const metricsOf = (c: PutMetricDataCall): Record<string, number> => Object.fromEntries(c.body.MetricData.map((d) => [d.MetricName, d.Value]));

/** `address`: where it listens, loopback unless containers must reach it (a bridge's gateway address). */
export async function startCloudWatchRecorder({ address = '127.0.0.1' }: { address?: string } = {}): Promise<CloudWatchRecorder> {
  const events = new EventEmitter();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      if (recorder.failing) {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'com.amazonaws.cloudwatch#InternalServiceFault', message: 'recorder says no' }));
        return;
      }
      const call: PutMetricDataCall = { headers: req.headers, body: JSON.parse(raw.toString('utf8')) as PutMetricDataCall['body'] };
      recorder.calls.push(call);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
      res.end('{}');
      events.emit('call', call);
    });
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  const recorder: CloudWatchRecorder = {
    url: `http://${address}:${(server.address() as AddressInfo).port}`,
    calls: [],
    failing: false,
    next(match = () => true, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('call', on);
          reject(new Error(`no matching PutMetricData within ${timeoutMs} ms; got ${JSON.stringify(recorder.calls.map((c) => c.body))}`));
        }, timeoutMs);
        const on = (c: PutMetricDataCall) => {
          if (!match(c)) return;
          clearTimeout(timer);
          events.off('call', on);
          resolve(c);
        };
        events.on('call', on);
      });
    },
    stop: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
  return recorder;
}
