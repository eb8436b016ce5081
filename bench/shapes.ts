/**
 * Growth: how the cost of an audit grows with each shape of input users have (many
 * traces, one long trace, many agents, deep chains, loops, a hot state key, handoffs
 * in flight, and adversarial resends, duplicate writes and stale reads), so a
 * superlinear path in the analyzer shows up as an exponent, not as a surprise.
 *
 * For each shape (bench/generate-shapes.ts) and each size on a 1-3-10 ladder of span
 * counts, one OTLP JSON Lines file is generated and audited in a fresh child process
 * (bench/audit-child.ts: readTraceInputs → Auditor → finish, as `baton audit` runs),
 * and a second fresh child does only the bare work (read, split lines, JSON.parse
 * each), the baseline. Per series, the growth exponent is the least-squares slope of
 * log(audit ms) against log(spans); the analysis exponent is the same for
 * audit − bare (floored at max(1 ms, 5% of bare), since the bare parse is linear and
 * noise can make the difference vanish at small sizes); "last step" is the slope
 * between the two largest sizes, which shows where a quadratic term takes over. The
 * same two slopes are given for the audit's CPU time (user + system of the child),
 * which a busy shared machine disturbs much less than the wall time.
 * Goal per series: audit ≤ 3x bare at the largest size and exponent ≤ 1.2.
 *
 * Sizes that would take too long are not run: a series stops after a timeout or a
 * crash, and skips a size when the last step predicts more than the child timeout.
 * A series can be capped below the ladder's top (SERIES_CAP_SPANS; none are now);
 * BATON_BENCH_SHAPES_MAX lifts every cap and extends the ladder.
 *
 *   npx tsx bench/shapes.ts                               # or BATON_BENCH_ONLY=shapes npm run bench
 *   BATON_BENCH_QUICK=1 npx tsx bench/shapes.ts           # 1k–30k spans, about a minute
 *   BATON_BENCH_SHAPES=depth,stale-reads npx tsx bench/shapes.ts   # some series only
 *   BATON_BENCH_SHAPES_MAX=3000000 npx tsx bench/shapes.ts         # ladder up to 3M spans, no caps
 *   BATON_BENCH_SHAPES_TIMEOUT_S=300 …                    # per-child timeout (default 120 s)
 *
 * Generated files live in a temporary directory and each is deleted after its size.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildResult } from './audit-child.js';
import { fmt, fmtMs, fmtRatio, log, markdownTable, MiB, QUICK, runTsChildOutcome, verdict, type ChildOutcome } from './common.js';
import { generateShapeFile, SHAPES, type ShapeDefinition } from './generate-shapes.js';

/** Goal: the audit costs at most this many times the bare parse at the largest size… */
export const SHAPES_RATIO_GOAL = 3;
/** …and grows no faster than spans^1.2. */
export const SHAPES_EXPONENT_GOAL = 1.2;

const FULL_LADDER_TOP = 300_000;
/** Quick runs take the three largest sizes up to this (or the series' cap). */
const QUICK_LADDER_TOP = 10_000;
const QUICK_SIZES = 3;
/** A full series has at least this many sizes (a finer ladder from 100 spans when capped low). */
const MIN_SIZES = 5;

/**
 * Default caps (spans) per series, below the ladder's top: none since the analyzer
 * became n log n on every shape (each once needed one: stale-reads was cubic,
 * hot-key and resends quadratic). Kept as a knob; BATON_BENCH_SHAPES_MAX lifts it.
 */
const SERIES_CAP_SPANS: Readonly<Record<string, number>> = {};

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/** Largest span count to run, when set: the ladder goes up to it and no series is capped. */
const SHAPES_MAX = envNumber('BATON_BENCH_SHAPES_MAX');
/** Per-child timeout. */
export const CHILD_TIMEOUT_MS = (envNumber('BATON_BENCH_SHAPES_TIMEOUT_S') ?? 120) * 1000;
/**
 * Runs of each size (bare and audit alternating) when the first pair took under
 * REPEAT_BELOW_MS; the fastest of each is kept. The machine may be shared: the
 * minimum is the run least disturbed. Default 3, 1 when quick.
 */
const REPEATS = Math.round(envNumber('BATON_BENCH_SHAPES_REPEATS') ?? (QUICK ? 1 : 3));
const REPEAT_BELOW_MS = 5_000;
const ONLY_SERIES = process.env.BATON_BENCH_SHAPES?.split(',').map((s) => s.trim()).filter(Boolean);

/**
 * Span counts to run up to `top`: 1k, 3k, 10k, 30k, …, extended down to 300 and 100
 * when that gives fewer than MIN_SIZES (a capped series); when even that is too few,
 * 100, 200, 500, 1k, 2k, … instead. A top off the ladder (a cap of 200k) is the last
 * size. Quick: the three largest.
 */
export function ladder(top: number, quick = QUICK): number[] {
  const withTop = (sizes: number[]) => (sizes.length === 0 || top > sizes[sizes.length - 1]! * 1.2 ? [...sizes, top] : sizes);
  const coarse: number[] = [];
  for (let decade = 1_000; decade <= top; decade *= 10) {
    coarse.push(decade);
    if (decade * 3 <= top) coarse.push(decade * 3);
  }
  const fine: number[] = [];
  for (let decade = 100; decade <= top; decade *= 10) for (const step of [1, 2, 5]) if (decade * step <= top) fine.push(decade * step);
  if (quick) return withTop(coarse.length >= QUICK_SIZES ? coarse : fine).slice(-QUICK_SIZES);
  for (const below of [300, 100]) if (coarse.length < MIN_SIZES && coarse.length > 0) coarse.unshift(below);
  return withTop(coarse.length >= MIN_SIZES ? coarse : fine);
}

/** One size of one series. */
export interface ShapeRun {
  n: number;
  /** Span count: what the file held (the audit's count when it ran). */
  spans: number;
  bytes: number;
  status: 'ok' | 'timeout' | 'crash' | 'skipped';
  /** Why a size was skipped, or how a child crashed. */
  note?: string;
  bare?: ChildResult;
  audit?: ChildResult;
  /** audit ms / bare ms (the fastest of each). */
  ratio?: number;
  /** Every timed run, ms, when the size was repeated. */
  bareMsRuns?: number[];
  auditMsRuns?: number[];
  /** The least CPU time (user + system) of the audit runs, ms: steadier than wall time on a shared machine. */
  auditCpuMs?: number;
  /** Largest peak RSS of the audit runs, KiB. */
  peakRssKiB?: number;
  /** Child wall times as the parent saw them (spawn to exit), ms. */
  bareWallMs?: number;
  auditWallMs?: number;
}

export interface SeriesResult {
  id: string;
  title: string;
  unit: string;
  description: string;
  /** The span count the ladder was cut at for this series (a default cap, or the top). */
  topSpans: number;
  capped: boolean;
  runs: ShapeRun[];
  /** Least-squares slope of log(audit ms) vs log(spans), over the sizes that ran. */
  exponent: number;
  /** The same for the analysis time, audit − bare, floored. */
  analysisExponent: number;
  /** Slope between the two largest sizes that ran. */
  lastStepExponent: number;
  /** The same two slopes of the audit's CPU time. */
  cpuExponent: number;
  lastStepCpuExponent: number;
  largest?: ShapeRun;
  met: boolean;
}

export interface ShapesResults {
  quick: boolean;
  timeoutMs: number;
  repeats: number;
  maxSpans: number | null;
  series: SeriesResult[];
}

/** Least-squares slope of log(y) against log(x). */
export function logLogSlope(points: readonly (readonly [number, number])[]): number {
  if (points.length < 2) return Number.NaN;
  const xs = points.map(([x]) => Math.log(x));
  const ys = points.map(([, y]) => Math.log(y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

/** Audit − bare, floored at max(1 ms, 5% of bare). */
export function analysisMs(run: ShapeRun): number {
  const bare = run.bare!.ms;
  return Math.max(run.audit!.ms - bare, 1, 0.05 * bare);
}

const count = (n: number) => n.toLocaleString('en-US');

function describeFailure(outcome: ChildOutcome<ChildResult>): string {
  if (outcome.status === 'timeout') return `killed after ${fmtMs(outcome.wallMs)}`;
  if (outcome.status !== 'crash') return '';
  const lines = outcome.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean);
  const reason = lines.find((l) => /RangeError|Error:|heap out of memory|Maximum call stack/i.test(l)) ?? lines[lines.length - 1] ?? '';
  return `exit ${outcome.exitCode ?? outcome.signal}: ${reason.slice(0, 160)}`;
}

async function runSize(shape: ShapeDefinition, n: number, dir: string): Promise<ShapeRun> {
  const path = join(dir, `shape-${shape.id}-${n}.jsonl`);
  const generated = generateShapeFile(shape.id, n, path);
  const run: ShapeRun = { n, spans: generated.spans, bytes: generated.bytes, status: 'ok', bareMsRuns: [], auditMsRuns: [] };
  const label = `shapes: ${shape.id} n=${count(n)} (${count(generated.spans)} spans, ${fmt(generated.bytes / MiB, 1)} MiB)`;
  try {
    for (let rep = 0; rep < REPEATS; rep++) {
      const bare = await runTsChildOutcome<ChildResult>('audit-child.ts', ['parse', path], { timeoutMs: CHILD_TIMEOUT_MS });
      if (bare.status !== 'ok') throw new Error(`${label}: the bare parse did not finish (${bare.status}: ${describeFailure(bare)})`);
      if (!run.bare || bare.result.ms < run.bare.ms) {
        run.bare = bare.result;
        run.bareWallMs = bare.wallMs;
      }
      run.bareMsRuns!.push(bare.result.ms);
      const audit = await runTsChildOutcome<ChildResult>('audit-child.ts', ['audit', path], { timeoutMs: CHILD_TIMEOUT_MS });
      if (audit.status !== 'ok') {
        run.status = audit.status;
        run.note = describeFailure(audit);
        run.auditWallMs = audit.wallMs;
        delete run.audit;
        delete run.ratio;
        log(`${label}: bare ${fmtMs(bare.result.ms)}, audit ${audit.status.toUpperCase()} (${run.note})`);
        return run;
      }
      const result = audit.result;
      if (result.errors > 0) throw new Error(`${label}: the audit reported ${result.errors} input errors (a generator bug)`);
      if (result.spans !== bare.result.spans || result.spans !== generated.spans) {
        throw new Error(`${label}: generated ${generated.spans} spans, the baseline read ${bare.result.spans}, the audit ${result.spans}`);
      }
      if (!run.audit || result.ms < run.audit.ms) {
        run.audit = result;
        run.auditWallMs = audit.wallMs;
      }
      run.auditMsRuns!.push(result.ms);
      run.auditCpuMs = Math.min(run.auditCpuMs ?? Infinity, result.cpuMs);
      run.peakRssKiB = Math.max(run.peakRssKiB ?? 0, result.maxRssKiB);
      log(
        `${label}${REPEATS > 1 ? ` run ${rep + 1}` : ''}: bare ${fmtMs(bare.result.ms)}, audit ${fmtMs(result.ms)} (${fmtRatio(result.ms / bare.result.ms)}, CPU ${fmtMs(result.cpuMs)}), ` +
          `peak RSS ${fmt(result.maxRssKiB / 1024, 0)} MiB, ${count(result.findings)} findings`,
      );
      if (bare.result.ms + result.ms >= REPEAT_BELOW_MS) break;
    }
    run.ratio = run.audit!.ms / run.bare!.ms;
    return run;
  } finally {
    await rm(path, { force: true });
  }
}

async function runSeries(shape: ShapeDefinition, dir: string): Promise<SeriesResult> {
  const ladderTop = SHAPES_MAX ?? (QUICK ? QUICK_LADDER_TOP : FULL_LADDER_TOP);
  const cap = SHAPES_MAX === undefined ? SERIES_CAP_SPANS[shape.id] : undefined;
  const topSpans = cap !== undefined && cap < ladderTop ? cap : ladderTop;
  const runs: ShapeRun[] = [];
  let stop: string | undefined;
  for (const target of ladder(topSpans)) {
    const n = Math.max(1, Math.round(target / shape.spansPerUnit));
    if (stop === undefined) {
      // Predict this size from the last step (at least linear): skip it if it cannot finish in time.
      const done = runs.filter((r) => r.status === 'ok');
      const last = done[done.length - 1];
      if (last) {
        const before = done[done.length - 2];
        const slope = before ? Math.max(1, Math.log(last.audit!.ms / before.audit!.ms) / Math.log(last.spans / before.spans)) : 1;
        const predictedMs = last.audit!.ms * (target / last.spans) ** slope;
        if (predictedMs > CHILD_TIMEOUT_MS) stop = `predicted ${fmtMs(predictedMs)} (slope ${fmt(slope, 2)}) > timeout ${fmtMs(CHILD_TIMEOUT_MS)}`;
      }
    }
    if (stop !== undefined) {
      runs.push({ n, spans: Math.round(n * shape.spansPerUnit), bytes: 0, status: 'skipped', note: stop });
      continue;
    }
    const run = await runSize(shape, n, dir);
    runs.push(run);
    if (run.status !== 'ok') stop = `after the ${run.status} at n=${n.toLocaleString('en-US')}`;
  }
  const ok = runs.filter((r) => r.status === 'ok');
  const largest = ok[ok.length - 1];
  const exponent = logLogSlope(ok.map((r) => [r.spans, r.audit!.ms] as const));
  const analysisExponent = logLogSlope(ok.map((r) => [r.spans, analysisMs(r)] as const));
  const lastStepExponent = ok.length >= 2 ? logLogSlope(ok.slice(-2).map((r) => [r.spans, r.audit!.ms] as const)) : Number.NaN;
  const cpuExponent = logLogSlope(ok.map((r) => [r.spans, r.auditCpuMs!] as const));
  const lastStepCpuExponent = ok.length >= 2 ? logLogSlope(ok.slice(-2).map((r) => [r.spans, r.auditCpuMs!] as const)) : Number.NaN;
  const complete = runs.every((r) => r.status === 'ok');
  const met =
    complete && largest !== undefined && largest.ratio! <= SHAPES_RATIO_GOAL && Number.isFinite(exponent) && exponent <= SHAPES_EXPONENT_GOAL;
  return {
    id: shape.id,
    title: shape.title,
    unit: shape.unit,
    description: shape.description,
    topSpans,
    capped: topSpans < ladderTop,
    runs,
    exponent,
    analysisExponent,
    lastStepExponent,
    cpuExponent,
    lastStepCpuExponent,
    ...(largest ? { largest } : {}),
    met,
  };
}

/** Runs every series (or those named in BATON_BENCH_SHAPES); files go to `dir` and are deleted. */
export async function runShapesBench(dir: string): Promise<ShapesResults> {
  const shapes = ONLY_SERIES ? SHAPES.filter((s) => ONLY_SERIES.includes(s.id)) : SHAPES;
  if (ONLY_SERIES && shapes.length !== ONLY_SERIES.length) {
    throw new Error(`BATON_BENCH_SHAPES: unknown series in "${ONLY_SERIES.join(',')}" (known: ${SHAPES.map((s) => s.id).join(', ')})`);
  }
  const series: SeriesResult[] = [];
  for (const shape of shapes) series.push(await runSeries(shape, dir));
  return { quick: QUICK, timeoutMs: CHILD_TIMEOUT_MS, repeats: REPEATS, maxSpans: SHAPES_MAX ?? null, series };
}

const fmtExponent = (e: number) => (Number.isFinite(e) ? fmt(e, 2) : '—');

/** The verdict cell: met, or what failed. */
export function seriesVerdict(s: SeriesResult): string {
  if (s.met) return verdict(true);
  const failed = s.runs.find((r) => r.status === 'timeout' || r.status === 'crash');
  const reasons: string[] = [];
  if (failed) reasons.push(`${failed.status} at ${count(failed.spans)} spans`);
  else if (s.runs.some((r) => r.status === 'skipped')) reasons.push('larger sizes skipped');
  if (s.largest && s.largest.ratio! > SHAPES_RATIO_GOAL) reasons.push(`ratio ${fmtRatio(s.largest.ratio!)}`);
  if (Number.isFinite(s.exponent) && s.exponent > SHAPES_EXPONENT_GOAL) reasons.push(`exponent ${fmt(s.exponent, 2)}`);
  return `${verdict(false)}${reasons.length ? ` (${reasons.join(', ')})` : ''}`;
}

function largestCell(s: SeriesResult): string {
  if (!s.largest) return '—';
  return `${count(s.largest.n)} ${s.unit}${s.capped ? ' (capped)' : ''}`;
}

export function formatShapesResults(r: ShapesResults): string {
  const parts: string[] = [
    `### Growth by input shape${r.quick ? ' (quick)' : ''}: each size audited in a fresh child process`,
    '',
    `Audit = readTraceInputs → Auditor → finish; bare = read + split lines + JSON.parse of each line of the same OTLP JSON Lines file. ` +
      `Exponent = least-squares slope of log(audit ms) vs log(spans); analysis = audit − bare, floored at max(1 ms, 5% of bare); ` +
      `last step = slope between the two largest sizes. Goal: ≤ ${SHAPES_RATIO_GOAL}x at the largest size and exponent ≤ ${SHAPES_EXPONENT_GOAL}. ` +
      `Times are the fastest of ${r.repeats} runs for sizes under ${fmtMs(REPEAT_BELOW_MS)}; peak RSS is the audit child's. ` +
      `Child timeout ${fmtMs(r.timeoutMs)}${r.maxSpans ? `; ladder up to ${count(r.maxSpans)} spans, no caps` : ''}.`,
  ];
  for (const s of r.series) {
    parts.push('', `#### ${s.title} (\`${s.id}\`): ${s.description}`, '');
    const rows = s.runs.map((run) => {
      if (run.status === 'skipped') return [count(run.n), `~${count(run.spans)}`, '', '', `skipped: ${run.note}`, '', '', '', ''];
      const mib = fmt(run.bytes / MiB, 1);
      if (run.status !== 'ok') return [count(run.n), count(run.spans), mib, fmtMs(run.bare!.ms), `${run.status}: ${run.note}`, '', '', '', ''];
      return [
        count(run.n),
        count(run.spans),
        mib,
        fmtMs(run.bare!.ms),
        fmtMs(run.audit!.ms),
        fmtMs(run.auditCpuMs!),
        fmtRatio(run.ratio!),
        fmt(run.peakRssKiB! / 1024, 0),
        count(run.audit!.findings),
      ];
    });
    parts.push(markdownTable([s.unit, 'spans', 'MiB', 'bare', 'audit', 'audit CPU', 'ratio', 'peak RSS MiB', 'findings'], rows));
    parts.push(
      '',
      `Exponent ${fmtExponent(s.exponent)} (analysis ${fmtExponent(s.analysisExponent)}, last step ${fmtExponent(s.lastStepExponent)}; CPU ${fmtExponent(s.cpuExponent)}, last step ${fmtExponent(s.lastStepCpuExponent)})` +
        `${s.capped ? `; capped at ${count(s.topSpans)} spans by default` : ''}: ${seriesVerdict(s)}.`,
    );
  }
  parts.push('', '#### Growth summary', '', formatShapesSummary(r));
  return parts.join('\n');
}

export function formatShapesSummary(r: ShapesResults): string {
  return markdownTable(
    ['series', 'largest size', 'spans', 'ratio at largest', 'audit CPU at largest', 'exponent', 'analysis exponent', 'last step', 'CPU exponent', 'CPU last step', `verdict (≤ ${SHAPES_RATIO_GOAL}x, ≤ ${SHAPES_EXPONENT_GOAL})`],
    r.series.map((s) => [
      s.id,
      largestCell(s),
      s.largest ? count(s.largest.spans) : '—',
      s.largest ? fmtRatio(s.largest.ratio!) : '—',
      s.largest ? fmtMs(s.largest.auditCpuMs!) : '—',
      fmtExponent(s.exponent),
      fmtExponent(s.analysisExponent),
      fmtExponent(s.lastStepExponent),
      fmtExponent(s.cpuExponent),
      fmtExponent(s.lastStepCpuExponent),
      seriesVerdict(s),
    ]),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = await mkdtemp(join(tmpdir(), 'baton-bench-'));
  try {
    console.log(formatShapesResults(await runShapesBench(dir)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
