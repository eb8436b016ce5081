/**
 * AuditReports for the renderer tests: real ones, audited from the committed
 * fixtures (read through src/ingest by ./load-fixture.ts), variants of them
 * where some or all rules cannot run, and one built by hand whose every piece
 * of trace text holds the characters that break a format.
 * Each is built once per test file and shared.
 */
import { auditSpans, type AuditOptions } from '../../src/analyze/audit.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import type { AttributeValue, SpanRecord } from '../../src/model/span-record.js';
import { FIXTURE_NAMES, loadFixture } from './load-fixture.js';

const cache = new Map<string, Promise<AuditReport>>();

function once(key: string, build: () => Promise<AuditReport>): Promise<AuditReport> {
  let report = cache.get(key);
  if (!report) cache.set(key, (report = build()));
  return report;
}

/** The audit of one fixture, as `baton audit fixtures/<name>.json` makes it. */
export function fixtureReport(name: (typeof FIXTURE_NAMES)[number], options: AuditOptions = {}): Promise<AuditReport> {
  return once(`${name} ${JSON.stringify(options)}`, async () => auditSpans([await loadFixture(name)], options));
}

/** The audit of every fixture at once: every rule has a finding. */
export function allFixturesReport(options: AuditOptions = {}): Promise<AuditReport> {
  return once(`all ${JSON.stringify(options)}`, async () => {
    const spans = await Promise.all(FIXTURE_NAMES.map(loadFixture));
    return auditSpans([spans.flat()], options);
  });
}

function withAttributes(spans: readonly SpanRecord[], keep: (key: string) => boolean): SpanRecord[] {
  return spans.map((span) => {
    const attributes: Record<string, AttributeValue> = {};
    for (const key of Object.keys(span.attributes)) if (keep(key)) attributes[key] = span.attributes[key]!;
    return { ...span, attributes };
  });
}

/** The clean fixture from an app that never heard of Baton: no span has a baton.* attribute, so no rule can run. */
export function uninstrumentedReport(): Promise<AuditReport> {
  return once('uninstrumented', async () => auditSpans([withAttributes(await loadFixture('clean'), (key) => !key.startsWith('baton.'))]));
}

/**
 * The clean fixture with versions, epochs, schema and context attributes
 * stripped: some rules still check handoffs, the others cannot run and say why.
 */
export function partlyInstrumentedReport(): Promise<AuditReport> {
  return once('partly', async () =>
    auditSpans([
      withAttributes(await loadFixture('clean'), (key) => !/(version|epoch|schema|context|ack)/.test(key) || key === 'baton.operation'),
    ]),
  );
}

/** Every character that has broken some format: quotes, markup, pipes, line breaks, CDATA end, controls, escapes, bidi. */
export const HOSTILE = 'a"b\'c<d>&e|f\ng\r]]>\u0001h\u001b[31mi`j#k;l:m%n@team\\o\u202ep\ud800q\ufffer{}*_[x](y)\\';
export const HOSTILE_TARGET = 'writer "two" <b>';

const SPAN_A = '0123456789abcdef';
const SPAN_B = 'fedcba9876543210';
const TRACE = '0123456789abcdef0123456789abcdef';

/** A report written by hand, every piece of trace text hostile, that still obeys the AuditReport schema. */
export function hostileReport(): AuditReport {
  return {
    reportVersion: '1',
    inputs: {
      spans: 12,
      traces: 1,
      traceGroups: 1,
      batonSpans: 12,
      conventionsVersions: ['1'],
      problems: [{ location: `runs/${HOSTILE}.jsonl:3:7`, message: `expected "resourceSpans" ${HOSTILE}` }],
    },
    findings: [
      {
        ruleId: 'dependency-cycle',
        severity: 'error',
        message: `deadlock: ${HOSTILE} → ${HOSTILE_TARGET} → ${HOSTILE}`,
        hint: `break the loop ${HOSTILE}`,
        evidence: { traceId: TRACE, spanIds: [SPAN_A, SPAN_B], startMs: 1_795_573_465_205 },
        agents: [HOSTILE, HOSTILE_TARGET],
        taskId: `task ${HOSTILE}`,
      },
      {
        ruleId: 'dependency-cycle',
        severity: 'warning',
        message: `deadlock: ${HOSTILE} → ${HOSTILE_TARGET} → ${HOSTILE}`,
        hint: 'same message, second finding',
        evidence: { traceId: TRACE, spanIds: [SPAN_B], startMs: 1_795_573_465_305 },
        agents: [HOSTILE_TARGET],
      },
    ],
    findingsTruncated: 0,
    rules: [
      { ruleId: 'dependency-cycle', findings: 2, checked: 3, notEvaluated: [], couldNotRun: false },
      {
        ruleId: 'duplicate-write',
        findings: 0,
        checked: 4,
        notEvaluated: [{ count: 2, reason: `writes without a key ${HOSTILE}` }],
        couldNotRun: false,
      },
      {
        ruleId: 'ack-timeout',
        findings: 0,
        checked: 0,
        notEvaluated: [{ count: 5, reason: `handoffs without a budget ${HOSTILE}` }],
        couldNotRun: true,
      },
    ],
    edges: [
      {
        source: HOSTILE,
        target: HOSTILE_TARGET,
        handoffs: 3,
        latencyMs: { count: 3, p50: 1.5, p95: 12.25, p99: 12.25, max: 12.25 },
        ackLatencyMs: null,
        validationMs: { count: 3, p50: 0.1, p95: 0.2, p99: 0.2, max: 0.2 },
        failures: 1,
        retries: 2,
      },
      {
        source: HOSTILE_TARGET,
        target: HOSTILE,
        handoffs: 1,
        latencyMs: null,
        ackLatencyMs: null,
        validationMs: null,
        failures: 0,
        retries: 0,
      },
    ],
    agents: [HOSTILE, HOSTILE_TARGET, 'bystander'],
    dependencies: [{ source: 'bystander', target: HOSTILE }],
    cycles: [[HOSTILE, HOSTILE_TARGET, HOSTILE]],
    tasks: {
      count: 1,
      coordinationShare: { count: 1, p50: 0.25, p95: 0.25, p99: 0.25, max: 0.25 },
      slowest: [
        {
          taskId: `task ${HOSTILE}`,
          traceId: TRACE,
          wallMs: 40,
          agentMs: 30,
          coordinationMs: 10,
          coordinationShare: 0.25,
          criticalPath: [
            { label: HOSTILE, kind: 'agent', ms: 20 },
            { label: `${HOSTILE} → ${HOSTILE_TARGET}`, kind: 'coordination', ms: 10 },
            { label: HOSTILE_TARGET, kind: 'agent', ms: 10 },
          ],
        },
      ],
    },
    severityCounts: { error: 1, warning: 1, info: 0 },
  };
}

/** `report` with an unreadable input recorded, as `baton audit good.json missing.json` makes it. */
export function withProblem(report: AuditReport): AuditReport {
  return { ...report, inputs: { ...report.inputs, problems: [{ location: 'missing.json', message: 'no such file or directory' }] } };
}
