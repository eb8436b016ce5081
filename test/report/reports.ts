/**
 * AuditReports for the renderer tests. Most are written by hand (report
 * version 2), so the renderers are tested on exactly the shape they render,
 * whatever state the analyzer is in: a sample with something in every part
 * (findings in two traces, rules that ran, could not run and are off, skewed
 * and in-process edges, sketch percentiles), a clean one, one no vocabulary
 * claimed a span of, an empty one, and one whose every piece of trace text
 * holds the characters that break a format. A few tests also render real
 * audits of the committed fixtures (read through src/ingest by
 * ./load-fixture.ts), built once per test file and shared.
 */
import { auditSpans, type AuditOptions } from '../../src/analyze/audit.js';
import type { AuditReport, EdgeStats, LatencySummary, RuleStatus, RuleSummary } from '../../src/model/audit-report.js';
import type { Finding, NotEvaluated, Severity } from '../../src/model/finding.js';
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

/** The rules in report order, with the description and severity each carries. */
export const RULES: readonly { readonly ruleId: string; readonly description: string; readonly severity: Severity }[] = [
  { ruleId: 'dependency-cycle', description: 'agents waiting on each other (deadlock) or handoffs going round a loop', severity: 'error' },
  { ruleId: 'stale-epoch-read', description: 'state read at a version or epoch older than one already committed', severity: 'error' },
  { ruleId: 'duplicate-write', description: 'one logical write committed by more than one attempt', severity: 'error' },
  { ruleId: 'lost-update', description: "a plain write that replaced another writer's committed update it never read", severity: 'error' },
  {
    ruleId: 'partial-handoff',
    description: 'a write whose completion event never went out, or an event nobody consumed',
    severity: 'error',
  },
  { ruleId: 'ack-timeout', description: 'a handoff acknowledged after its timeout budget, or never', severity: 'error' },
  {
    ruleId: 'schema-drift',
    description: 'sender and receiver on different envelope schema versions, or a failed validation',
    severity: 'error',
  },
  { ruleId: 'context-blowup', description: 'context growing too fast along a chain, or past a budget', severity: 'error' },
  { ruleId: 'context-loss', description: 'a handoff that drops decisions_made or constraints', severity: 'warning' },
  { ruleId: 'undelivered-handoff', description: 'a handoff the router dropped or left buffered, never reaching its target', severity: 'error' },
  { ruleId: 'unlinked-handoff', description: 'a receive not linked to its send: trace context lost on the way', severity: 'warning' },
];

/** One rule's summary; `status` decides `couldNotRun`. */
export function rule(
  ruleId: string,
  status: RuleStatus,
  counts: { findings?: number; checked?: number; notEvaluated?: readonly NotEvaluated[] } = {},
): RuleSummary {
  const known = RULES.find((r) => r.ruleId === ruleId)!;
  return {
    ruleId,
    description: known.description,
    severity: known.severity,
    status,
    findings: counts.findings ?? 0,
    checked: counts.checked ?? (status === 'ran' ? 1 : 0),
    notEvaluated: counts.notEvaluated ?? [],
    couldNotRun: status === 'could-not-run',
  };
}

/** A latency summary from sketch percentiles (±1% unless told). */
export function latency(min: number, p50: number, p95: number, max: number, count = 4, relativeError = 0.01): LatencySummary {
  return { count, min, p50, p95, p99: p95, max, relativeError };
}

function edge(source: string, target: string, fields: Partial<EdgeStats> = {}): EdgeStats {
  return {
    source,
    target,
    handoffs: 1,
    latencyMs: null,
    ackLatencyMs: null,
    validationMs: null,
    failures: 0,
    retries: 0,
    transfers: 0,
    skewedSamples: 0,
    ...fields,
  };
}

const T0 = 1_795_573_465_205;
export const TRACE_1 = '0123456789abcdef0123456789abcdef';
export const TRACE_2 = 'fedcba9876543210fedcba9876543210';
const SPAN = (n: number) => n.toString(16).padStart(16, '0');

function finding(ruleId: string, severity: Severity, message: string, at: number, extra: Partial<Finding> = {}): Finding {
  return {
    ruleId,
    severity,
    message,
    hint: `fix for ${message}`,
    evidence: { traceId: TRACE_1, spanIds: [SPAN(at)], traceIds: [TRACE_1], startMs: T0 + at },
    agents: ['writer', 'reviewer'],
    ...extra,
  };
}

/**
 * A report with something in every part: 12 spans read as baton (10) and
 * otel-genai (2); findings of four rules, one with evidence in two traces;
 * rules that ran (some with reasons they could not check everything, counted 1
 * and 2), two that could not run, one off; an edge with a negative p50, three
 * skewed samples and two in-process transfers; a handoff loop; two tasks.
 */
export function sampleReport(): AuditReport {
  return {
    reportVersion: '2',
    inputs: {
      spans: 12,
      traces: 2,
      traceGroups: 1,
      dialects: [
        { id: 'baton', spans: 10, interpreted: 9, traceGroups: 1 },
        { id: 'otel-genai', spans: 2, interpreted: 2, traceGroups: 1 },
      ],
      conventionsVersions: ['1'],
      problems: [],
      horizon: { startMs: T0, endMs: T0 + 400 },
      nowMs: T0 + 400,
      wholeMsSpans: 3,
      splitTraces: 0,
    },
    findings: [
      finding('dependency-cycle', 'warning', 'writer and reviewer handed the draft back and forth 4 times', 10),
      finding('dependency-cycle', 'error', 'writer waits on reviewer, which waits on writer', 20, { taskId: 'task-7' }),
      finding('stale-epoch-read', 'error', 'reviewer read draft at epoch 2 after epoch 3 was committed', 30, {
        evidence: { traceId: TRACE_1, spanIds: [SPAN(30), SPAN(31)], traceIds: [TRACE_1, TRACE_2], startMs: T0 + 30 },
      }),
      finding('ack-timeout', 'warning', 'writer → reviewer acknowledged after 84 ms against a 40 ms budget', 40),
      finding('context-loss', 'warning', 'triage → research dropped constraints', 50, { agents: ['triage', 'research'] }),
    ],
    findingsTruncated: 0,
    rules: [
      rule('dependency-cycle', 'ran', { findings: 2, checked: 3 }),
      rule('stale-epoch-read', 'ran', {
        findings: 1,
        checked: 8,
        notEvaluated: [{ count: 1, reason: 'state reads without baton.state.version_read or baton.epoch' }],
      }),
      rule('duplicate-write', 'ran', {
        checked: 4,
        notEvaluated: [{ count: 2, reason: 'writes with neither baton.idempotency_key, baton.task.id + baton.step, nor baton.task.id + baton.attempt' }],
      }),
      rule('lost-update', 'ran', { checked: 4 }),
      rule('partial-handoff', 'ran', { checked: 9 }),
      rule('ack-timeout', 'ran', {
        findings: 1,
        checked: 4,
        notEvaluated: [
          { count: 1, reason: 'handoffs without baton.timeout_budget_ms' },
          { count: 2, reason: 'handoffs not acknowledged yet, still within budget when the data ends' },
        ],
      }),
      rule('schema-drift', 'could-not-run', {
        notEvaluated: [{ count: 1, reason: 'receives without both sender and receiver schema versions' }],
      }),
      rule('context-blowup', 'could-not-run', {
        notEvaluated: [{ count: 3, reason: 'chains with handoffs lacking baton.context.token_count and baton.context.size_bytes' }],
      }),
      rule('context-loss', 'ran', { findings: 1, checked: 4 }),
      rule('undelivered-handoff', 'ran', { checked: 2 }),
      rule('unlinked-handoff', 'off'),
    ],
    edges: [
      edge('triage', 'research', {
        handoffs: 4,
        transfers: 2,
        latencyMs: latency(-12, -12, 30.5, 31),
        ackLatencyMs: latency(-3, 8, 40, 41),
        validationMs: latency(0.1, 0.2, 0.4, 0.4),
        skewedSamples: 3,
      }),
      edge('research', 'writer', { latencyMs: latency(5, 5, 5, 5, 1) }),
      edge('writer', 'reviewer', {
        handoffs: 3,
        latencyMs: latency(20, 24, 62, 62, 3),
        ackLatencyMs: latency(30, 40, 84, 84, 3),
        failures: 1,
        retries: 1,
      }),
      edge('reviewer', 'writer', { handoffs: 2, latencyMs: latency(10, 11, 12, 12, 2) }),
    ],
    agents: ['research', 'reviewer', 'triage', 'writer'],
    agentRuns: [
      { agent: 'research', runs: 2, completed: 1, failed: 1, blocked: 0 },
      { agent: 'reviewer', runs: 2, completed: 2, failed: 0, blocked: 0 },
      { agent: 'triage', runs: 2, completed: 1, failed: 0, blocked: 1 },
      { agent: 'writer', runs: 3, completed: 2, failed: 0, blocked: 0 },
    ],
    dependencies: [{ source: 'triage', target: 'reviewer' }],
    cycles: [['writer', 'reviewer', 'writer']],
    tasks: {
      count: 2,
      coordinationShare: latency(0.2, 0.25, 0.4, 0.4, 2),
      slowest: [
        {
          taskId: 'task-7',
          traceId: TRACE_1,
          wallMs: 400,
          agentMs: 300,
          coordinationMs: 100,
          coordinationShare: 0.25,
          criticalPath: [
            { label: 'triage', kind: 'agent', ms: 100 },
            { label: 'triage → research', kind: 'coordination', ms: 30 },
            { label: 'research', kind: 'agent', ms: 200 },
            { label: 'research → writer', kind: 'coordination', ms: 70 },
          ],
        },
        {
          taskId: null,
          traceId: TRACE_2,
          wallMs: 100,
          agentMs: 80,
          coordinationMs: 20,
          coordinationShare: 0.2,
          criticalPath: [],
        },
      ],
    },
    severityCounts: { error: 2, warning: 3, info: 0 },
  };
}

/** Every rule ran and found nothing; latencies exact; microsecond timestamps. */
export function cleanReport(): AuditReport {
  const sample = sampleReport();
  return {
    ...sample,
    inputs: { ...sample.inputs, dialects: [{ id: 'baton', spans: 12, interpreted: 12, traceGroups: 1 }], traces: 1 },
    findings: [],
    rules: RULES.map((r) => rule(r.ruleId, 'ran', { checked: 3 })),
    edges: [
      edge('triage', 'research', { handoffs: 2, latencyMs: latency(4, 5, 6, 6, 2, 0) }),
      edge('research', 'writer', { latencyMs: latency(5, 5, 5, 5, 1, 0) }),
    ],
    cycles: [],
    dependencies: [],
    tasks: { ...sample.tasks, coordinationShare: latency(0.2, 0.25, 0.4, 0.4, 2, 0) },
    severityCounts: { error: 0, warning: 0, info: 0 },
  };
}

/** 34 spans that no dialect claimed (an app that never heard of Baton or the GenAI conventions): no rule could run. */
export function uninstrumentedReport(): AuditReport {
  const sample = sampleReport();
  return {
    ...sample,
    inputs: {
      ...sample.inputs,
      spans: 34,
      traces: 1,
      dialects: [
        { id: 'baton', spans: 0, interpreted: 0, traceGroups: 0 },
        { id: 'otel-genai', spans: 0, interpreted: 0, traceGroups: 0 },
      ],
      conventionsVersions: [],
      wholeMsSpans: 0,
    },
    findings: [],
    rules: RULES.map((r) => rule(r.ruleId, 'could-not-run')),
    edges: [],
    agents: [],
    agentRuns: [],
    dependencies: [],
    cycles: [],
    tasks: { count: 0, coordinationShare: null, slowest: [] },
    severityCounts: { error: 0, warning: 0, info: 0 },
  };
}

/** No span read at all. */
export function emptyReport(): AuditReport {
  const none = uninstrumentedReport();
  return { ...none, inputs: { ...none.inputs, spans: 0, traces: 0, traceGroups: 0, dialects: [], horizon: null, nowMs: null } };
}

/** `report` with all but `notWhole` of its spans' times in whole milliseconds. */
export function withWholeMs(report: AuditReport, notWhole = 0): AuditReport {
  return { ...report, inputs: { ...report.inputs, wholeMsSpans: report.inputs.spans - notWhole } };
}

/** `report` with an unreadable input recorded, as `baton audit good.json missing.json` makes it. */
export function withProblem(report: AuditReport): AuditReport {
  return { ...report, inputs: { ...report.inputs, problems: [{ location: 'missing.json', message: 'no such file or directory' }] } };
}

/** Every character that has broken some format: quotes, markup, pipes, line breaks, CDATA end, controls, escapes, bidi. */
export const HOSTILE = 'a"b\'c<d>&e|f\ng\r]]>\u0001h\u001b[31mi`j#k;l:m%n@team\\o\u202ep\ud800q\ufffer{}*_[x](y)\\';
export const HOSTILE_TARGET = 'writer "two" <b>';

const SPAN_A = '0123456789abcdef';
const SPAN_B = 'fedcba9876543210';
const TRACE = TRACE_1;

/** A report written by hand, every piece of trace text hostile, that still obeys the AuditReport schema. */
export function hostileReport(): AuditReport {
  return {
    reportVersion: '2',
    inputs: {
      spans: 12,
      traces: 1,
      traceGroups: 1,
      dialects: [{ id: 'baton', spans: 12, interpreted: 12, traceGroups: 1 }],
      conventionsVersions: ['1'],
      problems: [{ location: `runs/${HOSTILE}.jsonl:3:7`, message: `expected "resourceSpans" ${HOSTILE}` }],
      horizon: { startMs: 1_795_573_465_205, endMs: 1_795_573_465_405 },
      nowMs: 1_795_573_465_405,
      wholeMsSpans: 0,
      splitTraces: 0,
    },
    findings: [
      {
        ruleId: 'dependency-cycle',
        severity: 'error',
        message: `deadlock: ${HOSTILE} → ${HOSTILE_TARGET} → ${HOSTILE}`,
        hint: `break the loop ${HOSTILE}`,
        evidence: { traceId: TRACE, spanIds: [SPAN_A, SPAN_B], traceIds: [TRACE], startMs: 1_795_573_465_205 },
        agents: [HOSTILE, HOSTILE_TARGET],
        taskId: `task ${HOSTILE}`,
      },
      {
        ruleId: 'dependency-cycle',
        severity: 'warning',
        message: `deadlock: ${HOSTILE} → ${HOSTILE_TARGET} → ${HOSTILE}`,
        hint: 'same message, second finding',
        evidence: { traceId: TRACE, spanIds: [SPAN_B], traceIds: [TRACE], startMs: 1_795_573_465_305 },
        agents: [HOSTILE_TARGET],
      },
    ],
    findingsTruncated: 0,
    rules: [
      rule('dependency-cycle', 'ran', { findings: 2, checked: 3 }),
      rule('duplicate-write', 'ran', { checked: 4, notEvaluated: [{ count: 2, reason: `writes without a key ${HOSTILE}` }] }),
      rule('ack-timeout', 'could-not-run', { notEvaluated: [{ count: 5, reason: `handoffs without a budget ${HOSTILE}` }] }),
    ],
    edges: [
      edge(HOSTILE, HOSTILE_TARGET, {
        handoffs: 3,
        latencyMs: { count: 3, min: 1.5, p50: 1.5, p95: 12.25, p99: 12.25, max: 12.25, relativeError: 0 },
        validationMs: { count: 3, min: 0.1, p50: 0.1, p95: 0.2, p99: 0.2, max: 0.2, relativeError: 0 },
        failures: 1,
        retries: 2,
      }),
      edge(HOSTILE_TARGET, HOSTILE),
    ],
    agents: [HOSTILE, HOSTILE_TARGET, 'bystander'],
    agentRuns: [{ agent: HOSTILE, runs: 1, completed: 0, failed: 1, blocked: 0 }],
    dependencies: [{ source: 'bystander', target: HOSTILE }],
    cycles: [[HOSTILE, HOSTILE_TARGET, HOSTILE]],
    tasks: {
      count: 1,
      coordinationShare: { count: 1, min: 0.25, p50: 0.25, p95: 0.25, p99: 0.25, max: 0.25, relativeError: 0 },
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
