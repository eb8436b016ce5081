/**
 * `npm run bench`: every benchmark in one run, then a summary table whose ratios
 * all come from this run on this machine.
 *
 *   npm run bench                          # full sizes: 10 MiB + 200 MiB JSON, 10 + 50 MiB protobuf, 1 GiB JSON Lines,
 *                                          # growth series up to 300k spans
 *   BATON_BENCH_QUICK=1 npm run bench      # 10 + 50 MiB JSON, 10 MiB protobuf, 100 MiB JSON Lines, growth to 10k spans
 *   BATON_BENCH_ONLY=sdk,audit npm run bench   # a subset (sdk, audit, stream, shapes, stores)
 *   BATON_BENCH_ONLY=stores npm run bench      # only the Redis/PostgreSQL adapter overhead (starts its own servers)
 *   BATON_BENCH_ONLY=shapes npm run bench      # only the growth series (bench/shapes.ts has its own knobs)
 *   BATON_BENCH_ONLY=receiver npm run bench    # only the live monitor's receivers (bench/receiver.ts)
 *   BATON_BENCH_JSON=out.json npm run bench    # also write the raw figures as JSON
 *
 * The SDK benchmark runs in fresh child processes (3 runs, 1 when quick), the
 * streaming audit and every size of the growth series in children of their own;
 * the other audits run in this process.
 * Progress goes to stderr, results to stdout (markdown). Generated trace files
 * live in a temporary directory under os.tmpdir() and are deleted at the end.
 * Run it on an otherwise idle machine: the audit figures are wall-clock times.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_GOAL, formatAuditResults, runAuditBench, type AuditRow } from './audit.js';
import { fmt, fmtMs, fmtRatio, log, machineFacts, markdownTable, MiB, peakRssMiB, QUICK, runTsChild, verdict } from './common.js';
import { formatSdkResults, HANDOFF_GOAL, summarizeSdkRuns, type SdkResults, type SdkSummary } from './sdk.js';
import { formatShapesResults, runShapesBench, seriesVerdict, SHAPES_EXPONENT_GOAL, SHAPES_RATIO_GOAL, type ShapesResults } from './shapes.js';
import { formatStoresResults, STORE_OVERHEAD_GOAL, type StoresResults } from './stores.js';
import { formatStreamingResults, RSS_GOAL_MIB, runStreamingBench, type StreamResults } from './streaming.js';
import { formatReceiverResults, monitorRatio, RECEIVER_GOAL, runReceiverBench, type ReceiverResults } from './receiver.js';

const only = new Set((process.env.BATON_BENCH_ONLY ?? 'sdk,audit,stream,shapes,stores,receiver').split(',').map((s) => s.trim()));
const startedAt = new Date();
const machine = await machineFacts();
const loadAtStart = loadavg();
const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');

console.log(`# Baton benchmarks${QUICK ? ' (quick: BATON_BENCH_QUICK=1, small files)' : ''}`);
console.log('');
console.log(
  markdownTable(
    ['machine', ''],
    [
      ['node', `${machine.node} (V8 ${machine.v8}), heap limit ${fmt(machine.heapLimitMiB, 0)} MiB`],
      ['CPU', `${machine.cpu}, ${machine.cores} cores`],
      ['memory', `${fmt(machine.totalMemGiB, 1)} GiB`],
      ['OS', machine.platform],
      ['date', startedAt.toISOString()],
      ['load average at start (1/5/15 min)', fmtLoad(loadAtStart)],
    ],
  ),
);
console.log('');

/** SDK runs, each in a fresh process: the ratios of one process vary with its JIT and GC state. */
const SDK_RUNS = QUICK ? 1 : 3;

let sdkRuns: SdkResults[] | undefined;
let sdk: SdkSummary | undefined;
let audit: AuditRow[] | undefined;
let stream: StreamResults | undefined;
let shapes: ShapesResults | undefined;
let stores: StoresResults | undefined;
let receiver: ReceiverResults | undefined;

if (only.has('sdk')) {
  sdkRuns = [];
  for (let i = 0; i < SDK_RUNS; i++) {
    log(`sdk: run ${i + 1} of ${SDK_RUNS} (child process)`);
    sdkRuns.push((await runTsChild<SdkResults>('sdk.ts', ['--json'])).result);
  }
  sdk = summarizeSdkRuns(sdkRuns);
  console.log(formatSdkResults(sdkRuns));
  console.log('');
}

if (only.has('stores')) {
  // A child of its own: its peak RSS is the adapters' and the drivers', not the audits'.
  log('stores: child process (starts redis-server and PostgreSQL)');
  stores = (await runTsChild<StoresResults>('stores.ts', ['--json'])).result;
  console.log(formatStoresResults(stores));
  console.log('');
}

const dir = await mkdtemp(join(tmpdir(), 'baton-bench-'));
try {
  if (only.has('audit')) {
    audit = await runAuditBench(dir);
    console.log(formatAuditResults(audit));
    console.log('');
  }
  if (only.has('stream')) {
    stream = await runStreamingBench(dir);
    console.log(formatStreamingResults(stream));
    console.log('');
  }
  if (only.has('shapes')) {
    shapes = await runShapesBench(dir);
    console.log(formatShapesResults(shapes));
    console.log('');
  }
  if (only.has('receiver')) {
    receiver = await runReceiverBench();
    console.log(formatReceiverResults(receiver));
    console.log('');
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const parentPeak = peakRssMiB();
const rows: string[][] = [];
if (sdk) {
  const worst = Math.max(sdk.handoffRatio.batch, sdk.handoffRatio.simple);
  rows.push([
    'handoff (send + JSON round trip + receive) / 2 bare spans',
    `${fmtRatio(sdk.handoffRatio.batch)} (batch), ${fmtRatio(sdk.handoffRatio.simple)} (simple); median of ${sdk.runs}`,
    `≤ ${HANDOFF_GOAL}x`,
    verdict(worst <= HANDOFF_GOAL),
  ]);
  rows.push([
    'the same, ratio of median samples',
    `${fmtRatio(sdk.handoffRatioOfMedians.batch)} (batch), ${fmtRatio(sdk.handoffRatioOfMedians.simple)} (simple)`,
    '',
    '',
  ]);
  rows.push([
    'handoff without JSON round trip / 2 bare spans',
    `${fmtRatio(sdk.handoffRatioNoRoundTrip.batch)} (batch), ${fmtRatio(sdk.handoffRatioNoRoundTrip.simple)} (simple)`,
    '',
    '',
  ]);
  rows.push(['ajv validate / JSON.stringify, same ~2 KiB envelope', fmtRatio(sdk.validateVsStringify), '', '']);
  rows.push(['floor: (2 bare spans + 2 validations + JSON round trip) / 2 bare spans', fmtRatio(sdk.floorRatio), '', '']);
}
for (const r of audit ?? []) {
  const name = r.encoding === 'json' ? `${fmt(r.bytes / MiB, 0)} MiB OTLP/JSON` : `${fmt(r.bytes / MiB, 1)} MiB protobuf`;
  rows.push([
    `audit / bare ${r.encoding === 'json' ? 'read + JSON.parse' : 'read + decode'}, ${name}`,
    `${fmtRatio(r.ratio)} (${fmtMs(r.audit.ms)} vs ${fmtMs(r.bare.ms)}; ${fmt(r.bytes / MiB / (r.audit.ms / 1000), 0)} MiB/s); CPU ${fmtRatio(r.cpuRatio)}`,
    `≤ ${AUDIT_GOAL}x`,
    verdict(r.ratio <= AUDIT_GOAL),
  ]);
}
if (stream) {
  rows.push([
    `peak RSS auditing ${fmt(stream.mib, 0)} MiB JSON Lines (child)`,
    `${fmt(stream.audit.maxRssKiB / 1024, 0)} MiB (${fmtMs(stream.audit.ms)}, ${fmt(stream.audit.bytes / MiB / (stream.audit.ms / 1000), 0)} MiB/s)`,
    `< ${RSS_GOAL_MIB} MiB`,
    verdict(stream.audit.maxRssKiB / 1024 < RSS_GOAL_MIB),
  ]);
  rows.push([
    `audit / bare line parse, ${fmt(stream.mib, 0)} MiB JSON Lines`,
    `${fmtRatio(stream.audit.ms / stream.parse.ms)} (${fmtMs(stream.audit.ms)} vs ${fmtMs(stream.parse.ms)})`,
    '',
    '',
  ]);
}
for (const s of shapes?.series ?? []) {
  const largest = s.largest;
  rows.push([
    `growth: ${s.title} (audit / bare at the largest size; exponent)`,
    largest
      ? `${fmtRatio(largest.ratio!)} at ${largest.spans.toLocaleString('en-US')} spans; exponent ${fmt(s.exponent, 2)} (last step ${fmt(s.lastStepExponent, 2)})`
      : 'no size finished',
    `≤ ${SHAPES_RATIO_GOAL}x, ≤ ${SHAPES_EXPONENT_GOAL}`,
    seriesVerdict(s),
  ]);
}
for (const r of stores?.rows ?? []) {
  rows.push([
    `${r.name}: instrumented / bare at p50`,
    `${fmtRatio(r.ratio)} (${fmt(r.bareP50Us, 1)} → ${fmt(r.instrumentedP50Us, 1)} µs)`,
    `≤ ${STORE_OVERHEAD_GOAL}x`,
    verdict(r.ratio <= STORE_OVERHEAD_GOAL),
  ]);
}
for (const r of stores?.versioned ?? []) {
  rows.push([r.name, `${fmtRatio(r.ratio)} (${fmt(r.bareP50Us, 1)} → ${fmt(r.instrumentedP50Us, 1)} µs)`, '', '']);
}
if (stores) rows.push(['peak RSS of the store adapters child', `${fmt(stores.peakRssMiB, 0)} MiB`, '', '']);
if (receiver) {
  for (const protocol of ['http-proto', 'http-json', 'grpc'] as const) {
    const ratio = monitorRatio(receiver, protocol);
    rows.push([`receiver ${protocol}: baton watch (analysis on) / bare server that decodes, lowest round`, fmtRatio(ratio), `≥ ${RECEIVER_GOAL}x`, verdict(ratio >= RECEIVER_GOAL)]);
  }
}
rows.push(['peak RSS of this (parent) process', `${fmt(parentPeak, 0)} MiB`, '', '']);

console.log('## Summary');
console.log('');
console.log(markdownTable(['measure', 'this run', 'goal', 'verdict'], rows));
console.log('');
console.log(
  `${machine.node}, ${machine.cpu}, ${machine.cores} cores, ${fmt(machine.totalMemGiB, 1)} GiB; ` +
    `took ${fmtMs(Date.now() - startedAt.getTime())}; load average ${fmtLoad(loadAtStart)} at start, ${fmtLoad(loadavg())} at the end` +
    ' (a 1-minute load near or above 1 on 2 cores means other work competed with this run).',
);

if (process.env.BATON_BENCH_JSON) {
  await writeFile(
    process.env.BATON_BENCH_JSON,
    `${JSON.stringify({ startedAt, quick: QUICK, machine, loadAtStart, loadAtEnd: loadavg(), sdk, sdkRuns, audit, stream, shapes, stores, parentPeakRssMiB: parentPeak }, null, 2)}\n`,
  );
  log(`raw figures written to ${process.env.BATON_BENCH_JSON}`);
}
