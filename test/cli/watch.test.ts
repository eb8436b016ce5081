import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTraceInputs } from '../../src/ingest/read-trace-inputs.js';
import { Baton } from '../../src/sdk/baton.js';
import { draft } from '../helpers/envelopes.js';
import { createOtelHarness } from '../helpers/otel.js';
import { runBaton } from '../helpers/cli.js';
import { ExportResultCode, exportWith } from '../helpers/receiver.js';
import { FIXTURES_DIR, runPipelineSpans, toOtlpJson } from '../helpers/traces.js';
import { startWatch } from '../helpers/watch-process.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-watch-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

// Each case starts the CLI from source (tsx): slow on a busy machine, hence the long timeouts.
describe('baton watch', { timeout: 90_000 }, () => {
  it('prints its help', async () => {
    const run = await runBaton(['watch', '--help'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: baton watch');
    expect(run.stdout).toContain('--record <file>');
  });

  it.each([
    [['--speed', '2'], '--speed applies to a replay'],
    [['--port', 'x'], '--port must be a port number'],
    [['--append'], '--append applies to --record'],
    [['--no-http', '--no-grpc'], 'leave nothing to receive on'],
    [['--follow', 'a.jsonl', 'b.json'], 'either --follow'],
    [['--rule', 'nope'], 'unknown rule "nope"'],
  ])('refuses %j with one line and exit 2', async (args, message) => {
    const run = await runBaton(['watch', ...args], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('replays recorded traces without a terminal: findings as lines, a final summary, exit 0', async () => {
    const run = await runBaton(['watch', join(FIXTURES_DIR, 'ack-timeout.json'), join(FIXTURES_DIR, 'cycle.json'), '--speed', 'max'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('not a terminal');
    expect(run.stdout).toMatch(/^finding warning ack-timeout: reviewer acknowledged the handoff from writer/m);
    expect(run.stdout).toMatch(/^finding error dependency-cycle: deadlock/m);
    expect(run.stdout).toMatch(/46 spans accepted, 0 rejected, 0 throttled .*0 aged out; 2 traces analyzed/);
    expect(run.stdout).toMatch(/writer → reviewer\s+1\s/);
  });

  it('refuses an existing --record file and leaves it as it was', async () => {
    const path = join(dir, 'taken.jsonl');
    await writeFile(path, 'precious\n');
    const run = await runBaton(['watch', join(FIXTURES_DIR, 'clean.json'), '--speed', 'max', '--record', 'taken.jsonl'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--record taken.jsonl: the file exists and is never overwritten');
    expect(await readFile(path, 'utf8')).toBe('precious\n');
  });

  it('says which port is in use, exit 2', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const run = await runBaton(['watch', '--port', String(port), '--no-grpc'], { cwd: dir });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`cannot listen for OTLP/HTTP on 127.0.0.1:${port}: the port is in use`);
    } finally {
      server.close();
    }
  });

  it('receives from the real protobuf and gRPC exporters, shuts down on SIGTERM, and --record holds every span', async () => {
    const watch = startWatch(['--port', '0', '--grpc-port', '0', '--record', 'live.jsonl', '--interval', '1'], dir);
    const { http, grpc } = await watch.urls();
    const a = await runPipelineSpans(['ack-timeout'], { taskId: 'cli-a' });
    const b = await runPipelineSpans([], { taskId: 'cli-b' });
    const proto = new ProtoExporter({ url: `${http}/v1/traces`, compression: 'gzip' as never });
    const grpcExporter = new GrpcExporter({ url: grpc!, compression: 'gzip' as never });
    expect((await exportWith(proto, a.spans)).code).toBe(ExportResultCode.SUCCESS);
    expect((await exportWith(grpcExporter, b.spans)).code).toBe(ExportResultCode.SUCCESS);
    await proto.shutdown();
    await grpcExporter.shutdown();
    const sent = a.spans.length + b.spans.length;
    await expect.poll(() => watch.stderr(), { timeout: 60_000 }).toMatch(new RegExp(`spans ${sent} `));
    // The ack-timeout trace is complete: its finding comes after settleMs, while the monitor runs.
    await expect.poll(() => watch.stdout(), { timeout: 60_000 }).toMatch(/^finding warning ack-timeout/m);
    watch.child.kill('SIGTERM');
    expect(await watch.exited()).toBe(0);
    expect(watch.stdout()).toMatch(new RegExp(`${sent} spans accepted, 0 rejected, 0 throttled`));
    expect(watch.stdout()).toContain(`recorded ${sent} spans to live.jsonl`);
    const recorded: string[] = [];
    for await (const batch of readTraceInputs([join(dir, 'live.jsonl')])) for (const s of batch) recorded.push(s.spanId);
    expect(recorded.sort()).toEqual([...a.spans, ...b.spans].map((s) => s.spanContext().spanId).sort());
    // What was recorded audits the same: the finding is there again.
    const audit = await runBaton(['audit', 'live.jsonl', '--format', 'json'], { cwd: dir });
    expect(JSON.parse(audit.stdout).findings.map((f: { ruleId: string }) => f.ruleId)).toEqual(['ack-timeout']);
  }, 180_000);

  it('names the --now that audits a recording as the session judged it: a budget that ran out after the last span', async () => {
    // What an app's planner does when its worker crashed: it sends, with a budget, and nothing comes back.
    const otel = createOtelHarness('planner');
    const baton = new Baton({ tracer: otel.tracer });
    await baton.runAgent('planner', () => baton.send(draft({ source_agent: 'planner', target_agent: 'worker' }), { timeoutBudgetMs: 300 }), { taskId: 'task-drop' });
    const spans = otel.spans();
    await otel.shutdown();
    const watch = startWatch(['--port', '0', '--no-grpc', '--record', 'dropped.jsonl', '--settle-ms', '200', '--interval', '1'], dir);
    const { http } = await watch.urls();
    const proto = new ProtoExporter({ url: `${http}/v1/traces` });
    expect((await exportWith(proto, spans)).code).toBe(ExportResultCode.SUCCESS);
    await proto.shutdown();
    // Live, the clock runs on past the recording's last span: the budget runs out and the finding comes.
    await expect.poll(() => watch.stdout(), { timeout: 60_000 }).toMatch(/^finding error ack-timeout: worker never acknowledged/m);
    watch.child.kill('SIGTERM');
    expect(await watch.exited()).toBe(0);
    const now = /recorded 2 spans to dropped\.jsonl; audit it as this session judged it: baton audit dropped\.jsonl --now (\S+)\n/.exec(watch.stdout())?.[1];
    expect(now).toBeDefined();
    const ruleIds = (stdout: string) => (JSON.parse(stdout) as { findings: { ruleId: string }[] }).findings.map((f) => f.ruleId);
    // The recording ends with the send: taken as now, the end of the data leaves the budget running.
    const atEnd = await runBaton(['audit', 'dropped.jsonl', '--format', 'json'], { cwd: dir });
    expect(ruleIds(atEnd.stdout)).toEqual([]);
    const asLive = await runBaton(['audit', 'dropped.jsonl', '--format', 'json', '--now', now!], { cwd: dir });
    expect(ruleIds(asLive.stdout)).toEqual(['ack-timeout']);
    expect(asLive.code).toBe(1);
  }, 180_000);

  it('follows a growing file until SIGINT', async () => {
    const path = join(dir, 'grow.jsonl');
    const first = await runPipelineSpans([], { taskId: 'follow-1' });
    const second = await runPipelineSpans(['stale-read'], { taskId: 'follow-2' });
    await writeFile(path, `${toOtlpJson(first.spans)}\n`);
    const watch = startWatch(['--follow', 'grow.jsonl', '--interval', '1'], dir);
    await watch.urls();
    await expect.poll(() => watch.stderr(), { timeout: 60_000 }).toMatch(new RegExp(`spans ${first.spans.length} `));
    await appendFile(path, `${toOtlpJson(second.spans)}\n`);
    const total = first.spans.length + second.spans.length;
    await expect.poll(() => watch.stderr(), { timeout: 60_000 }).toMatch(new RegExp(`spans ${total} `));
    watch.child.kill('SIGINT');
    expect(await watch.exited()).toBe(0);
    expect(watch.stdout()).toMatch(new RegExp(`${total} spans accepted`));
    expect(watch.stdout()).toMatch(/stale-epoch-read/);
  }, 180_000);

  it('follows a file of runs from ten minutes ago appended in two writes, and analyzes each run whole', async () => {
    const path = join(dir, 'old.jsonl');
    const { spans, result } = await runPipelineSpans([], { taskId: 'follow-old' });
    expect(result.notes).toEqual([]);
    // As a Collector would have written them ten minutes ago: every time moved back, two lines.
    const tenMinutesNs = 600_000_000_000n;
    const lineOf = (part: typeof spans) => {
      const request = JSON.parse(toOtlpJson(part)) as { resourceSpans: { scopeSpans: { spans: { startTimeUnixNano: string; endTimeUnixNano: string }[] }[] }[] };
      for (const rs of request.resourceSpans)
        for (const ss of rs.scopeSpans)
          for (const span of ss.spans) {
            span.startTimeUnixNano = String(BigInt(span.startTimeUnixNano) - tenMinutesNs);
            span.endTimeUnixNano = String(BigInt(span.endTimeUnixNano) - tenMinutesNs);
          }
      return `${JSON.stringify(request)}\n`;
    };
    const half = Math.floor(spans.length / 2);
    await writeFile(path, lineOf(spans.slice(0, half)));
    const watch = startWatch(['--follow', 'old.jsonl', '--interval', '1'], dir);
    await watch.urls();
    await expect.poll(() => watch.stderr(), { timeout: 60_000 }).toMatch(new RegExp(`spans ${half} `));
    await appendFile(path, lineOf(spans.slice(half)));
    await expect.poll(() => watch.stderr(), { timeout: 60_000 }).toMatch(new RegExp(`spans ${spans.length} `));
    watch.child.kill('SIGINT');
    expect(await watch.exited()).toBe(0);
    // One trace, not two pieces, and the clean run has no finding (cut in two, its first piece had an event never consumed).
    expect(watch.stdout()).toMatch(new RegExp(`${spans.length} spans accepted, 0 rejected, 0 throttled \\(retried by exporters\\), 0 aged out; 1 traces analyzed\\n`));
    expect(watch.stdout()).not.toMatch(/partial-handoff|ack-timeout/);
  }, 180_000);
});
