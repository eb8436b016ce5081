/**
 * Child of memory.test.ts: opens `count` one-span traces (a busy service's health
 * checks, none in a known vocabulary, all within one second so none closes) in an
 * Auditor, then prints the heap each open trace costs, measured after a full GC.
 */
import { Auditor } from '../../../../src/analyze/audit.js';
import type { SpanRecord } from '../../../../src/model/span-record.js';

const count = Number(process.argv[2] ?? 200_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const resource = Object.freeze({ 'service.name': 'svc' });
const auditor = new Auditor();
gc();
const before = process.memoryUsage().heapUsed;
const base = 1_796_000_000_000;
for (let i = 0; i < count; i += 1000) {
  const batch: SpanRecord[] = [];
  for (let k = i; k < i + 1000 && k < count; k++) {
    batch.push({
      traceId: (k + 1).toString(16).padStart(32, '0'),
      spanId: (k + 1).toString(16).padStart(16, '0'),
      parentSpanId: '',
      name: `GET /health`.slice(0),
      kind: 2,
      startMs: base + k / 1000,
      endMs: base + k / 1000 + 0.5,
      statusCode: 0,
      statusMessage: '',
      attributes: { 'http.route': '/health', 'http.response.status_code': 200 },
      links: [],
      events: [],
      resource,
      scopeName: 'http',
      source: 'generated',
    });
  }
  auditor.addSpans(batch);
}
gc();
const bytesPerTrace = (process.memoryUsage().heapUsed - before) / count;
const report = auditor.finish();
process.stdout.write(`${JSON.stringify({ bytesPerTrace, traces: report.inputs.traces, spans: report.inputs.spans })}\n`);
