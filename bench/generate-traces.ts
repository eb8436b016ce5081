/**
 * Makes large OTLP trace files for the audit benchmark from the real fixtures:
 * each copy of a fixture trace gets fresh trace and span ids and is shifted in
 * time, so the file holds many distinct, time-ordered traces (about one in five
 * with a fault), as a day of pipeline runs would.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const MIX = ['clean', 'clean', 'clean', 'clean', 'stale-read', 'clean', 'clean', 'clean', 'duplicate-write', 'ack-timeout'];

type Json = Record<string, unknown>;
interface Template {
  request: Json;
  spans: Json[];
  startNs: bigint;
}

async function loadTemplates(): Promise<Template[]> {
  const templates: Template[] = [];
  for (const name of new Set(MIX)) {
    const request = JSON.parse(await readFile(`${fixtures}${name}.json`, 'utf8')) as Json;
    const spans: Json[] = [];
    for (const rs of request.resourceSpans as Json[]) for (const ss of rs.scopeSpans as Json[]) spans.push(...(ss.spans as Json[]));
    let startNs = BigInt(spans[0]!.startTimeUnixNano as string);
    for (const s of spans) if (BigInt(s.startTimeUnixNano as string) < startNs) startNs = BigInt(s.startTimeUnixNano as string);
    templates.push({ request, spans, startNs });
  }
  return MIX.map((name) => templates[[...new Set(MIX)].indexOf(name)]!);
}

let counter = 0n;
function hex(bits: 64 | 128): string {
  counter++;
  const id = (counter * 0x9e3779b97f4a7c15n) & ((1n << 64n) - 1n);
  const s = id.toString(16).padStart(16, '0');
  return bits === 64 ? s : `${s}${(counter & 0xffffffffn).toString(16).padStart(16, '0')}`;
}

/** One copy of a template as an OTLP/JSON line, shifted to start at `atNs`. */
function copyOf(template: Template, atNs: bigint): string {
  return wrap(template, copySpans(template, atNs));
}

/** The spans of one copy of a template, with fresh ids, shifted to start at `atNs`. */
function copySpans(template: Template, atNs: bigint): Json[] {
  const traceIds = new Map<string, string>();
  const spanIds = new Map<string, string>();
  const mapTrace = (id: string) => traceIds.get(id) ?? (traceIds.set(id, hex(128)), traceIds.get(id)!);
  const mapSpan = (id: string) => (id ? (spanIds.get(id) ?? (spanIds.set(id, hex(64)), spanIds.get(id)!)) : id);
  const shift = atNs - template.startNs;
  const spans = template.spans.map((s) => ({
    ...s,
    traceId: mapTrace(s.traceId as string),
    spanId: mapSpan(s.spanId as string),
    parentSpanId: mapSpan((s.parentSpanId as string | undefined) ?? ''),
    startTimeUnixNano: String(BigInt(s.startTimeUnixNano as string) + shift),
    endTimeUnixNano: String(BigInt(s.endTimeUnixNano as string) + shift),
    links: ((s.links as Json[] | undefined) ?? []).map((l) => ({ ...l, traceId: mapTrace(l.traceId as string), spanId: mapSpan(l.spanId as string) })),
  }));
  return spans;
}

/** Spans as one OTLP/JSON request line, under the template's resource and scope. */
function wrap(template: Template, spans: readonly Json[]): string {
  const rs = (template.request.resourceSpans as Json[])[0]!;
  const ss = (rs.scopeSpans as Json[])[0]!;
  return JSON.stringify({ resourceSpans: [{ ...rs, scopeSpans: [{ ...ss, spans }] }] });
}

/** Spans per line when traces are in flight together: a BatchSpanProcessor export of a busy service. */
const EXPORT_BATCH_SPANS = 32;

/**
 * Writes about `targetBytes` of traces to `path`: JSON Lines (one request per line),
 * or with `singleDocument` one ExportTraceServiceRequest holding every resourceSpans.
 * Returns the bytes written and the number of traces.
 */
export async function generateTraceFile(
  path: string,
  targetBytes: number,
  options: {
    singleDocument?: boolean;
    /**
     * Traces in flight together, as a busy service exports them: tasks start every
     * 20 ms, and the spans of each `inFlight` consecutive tasks are written in the
     * order they end, 32 to a line, so every line mixes many open traces.
     */
    inFlight?: number;
  } = {},
): Promise<{ bytes: number; traces: number }> {
  const templates = await loadTemplates();
  const out = createWriteStream(path);
  let bytes = 0;
  let traces = 0;
  let atNs = 1_790_000_000_000_000_000n;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  if (options.inFlight !== undefined && options.inFlight > 1) {
    const template = templates[0]!;
    while (bytes < targetBytes) {
      const chunk: Json[] = [];
      for (let i = 0; i < options.inFlight; i++) {
        const spans = copySpans(templates[traces % templates.length]!, atNs);
        for (const span of spans) chunk.push(span);
        traces++;
        atNs += 20_000_000n;
      }
      // Exporters send spans as they end; ties keep generation order.
      chunk.sort((a, b) => {
        const d = BigInt(a.endTimeUnixNano as string) - BigInt(b.endTimeUnixNano as string);
        return d < 0n ? -1 : d > 0n ? 1 : 0;
      });
      for (let i = 0; i < chunk.length; i += EXPORT_BATCH_SPANS) await write(`${wrap(template, chunk.slice(i, i + EXPORT_BATCH_SPANS))}\n`);
    }
    out.end();
    await once(out, 'finish');
    return { bytes, traces };
  }
  if (options.singleDocument) await write('{"resourceSpans":[');
  while (bytes < targetBytes) {
    const line = copyOf(templates[traces % templates.length]!, atNs);
    if (options.singleDocument) {
      // Strip the wrapper: `{"resourceSpans":[` … `]}` around one resourceSpans entry.
      await write(`${traces > 0 ? ',' : ''}${line.slice(18, -2)}`);
    } else {
      await write(`${line}\n`);
    }
    traces++;
    atNs += 2_000_000_000n; // a new task every 2 s
  }
  if (options.singleDocument) await write(']}\n');
  out.end();
  await once(out, 'finish');
  return { bytes, traces };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [path, mb, mode] = process.argv.slice(2);
  if (!path || !mb) {
    console.error('usage: tsx bench/generate-traces.ts <out> <megabytes> [json|jsonl]');
    process.exitCode = 2;
  } else {
    const result = await generateTraceFile(path, Number(mb) * 1024 * 1024, { singleDocument: mode === 'json' });
    console.log(`${path}: ${(result.bytes / 1048576).toFixed(1)} MiB, ${result.traces} traces`);
  }
}
