/**
 * `baton watch --metrics-port` as a user runs it: the CLI in its own process, a
 * real app exporting to its gRPC receiver, /metrics scraped over HTTP and its
 * counts compared with the app's log; SIGTERM ends it with 0. Bad ports are
 * refused with one line and exit 2.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBaton } from '../helpers/cli.js';
import { sendHandoffs } from '../helpers/metrics-instance.js';
import { samplesOf, scrape, valueOf } from '../helpers/prometheus-text.js';
import { startWatch } from '../helpers/watch-process.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-watch-metrics-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('baton watch --metrics-port', { timeout: 120_000 }, () => {
  it('serves what a real app sent over gRPC as Prometheus metrics, and exits 0 on SIGTERM', async () => {
    const watch = startWatch(['--no-http', '--grpc-port', '0', '--metrics-port', '0', '--settle-ms', '200'], dir);
    const { grpc } = await watch.urls();
    const metricsUrl = /metrics (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(watch.stderr())?.[1];
    expect(metricsUrl).toBeDefined();
    const log = await sendHandoffs(['--url', grpc!, '--protocol', 'grpc', '--tasks', '6', '--seed', '5']);
    expect(log.failed).toBe(0);
    const sent = log.exported[grpc!]!;
    let exposition = await scrape(metricsUrl!);
    for (let i = 0; i < 600 && !(valueOf(exposition, 'baton_traces_analyzed_total') === log.traceIds.length && valueOf(exposition, 'baton_traces_open') === 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      exposition = await scrape(metricsUrl!);
    }
    expect(valueOf(exposition, 'baton_receiver_spans_total', { outcome: 'accepted' })).toBe(sent);
    expect(valueOf(exposition, 'baton_traces_analyzed_total')).toBe(log.traceIds.length);
    expect(samplesOf(exposition, 'baton_handoffs_total')).toHaveLength(Object.keys(log.handoffs).length);
    for (const [key, count] of Object.entries(log.handoffs)) {
      const [source, target] = key.split('\u0000') as [string, string];
      expect(valueOf(exposition, 'baton_handoffs_total', { source: source.replace(/\n/g, '\\n'), target: target.replace(/\n/g, '\\n') })).toBe(count);
    }
    // The CLI's version names the instrumentation scope.
    expect(samplesOf(exposition, 'baton_traces_open')[0]!.labels.otel_scope_version).toMatch(/^\d+\.\d+\.\d+/);
    watch.child.kill('SIGTERM');
    expect(await watch.exited()).toBe(0);
  });

  it('listens for metrics on --host, like the receivers', async () => {
    // 127.0.0.2 is loopback too on Linux, but another address than the default.
    const watch = startWatch(['--host', '127.0.0.2', '--port', '0', '--no-grpc', '--metrics-port', '0'], dir);
    try {
      const { http } = await watch.urls();
      expect(http).toMatch(/^http:\/\/127\.0\.0\.2:/);
      const metricsUrl = /metrics (http:\/\/[\d.]+:\d+\/metrics)/.exec(watch.stderr())![1]!;
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/metrics$/);
      expect(samplesOf(await scrape(metricsUrl), 'baton_receiver_spans_total')).toHaveLength(3);
      await expect(fetch(metricsUrl.replace('127.0.0.2', '127.0.0.1'))).rejects.toThrow();
    } finally {
      watch.child.kill('SIGTERM');
      expect(await watch.exited()).toBe(0);
    }
  });

  it.each([
    [['--metrics-port', 'x'], '--metrics-port must be a port number 0–65535, not "x"'],
    [['--metrics-port', '70000'], '--metrics-port must be a port number'],
    [['--metrics-max-edges', '5'], '--metrics-max-edges applies to --metrics-port'],
    [['--metrics-port', '0', '--metrics-max-edges', '0'], '--metrics-max-edges must be an integer 1–1999'],
    // A value with a newline and an escape sequence is shown escaped, on the same one line.
    [['--metrics-port', '0', '--metrics-max-edges', '5x\nbaton: fake line\u001b[2J'], 'not "5x\\nbaton: fake line\\u001b[2J"'],
  ])('refuses %j with one line and exit 2', async (args, message) => {
    const run = await runBaton(['watch', ...args], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a metrics port in use with one line and exit 2, before listening for traces', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = await runBaton(['watch', '--port', '0', '--grpc-port', '0', '--metrics-port', String(port)], { cwd: dir });
      expect(run.code).toBe(2);
      expect(run.stderr.trim()).toBe(
        `baton watch: cannot listen for Prometheus metrics on 127.0.0.1:${port}: the port is in use (is a Collector or another baton watch running? pass another port, or 0 for a free one)`,
      );
    } finally {
      blocker.close();
    }
  });
});
