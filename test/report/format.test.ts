/** Number and text formatting shared by the renderers. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  formatMsColumn,
  countedPhrase,
  formatMs,
  formatMsCell,
  formatShare,
  formatTime,
  notCheckedText,
  percentileErrorText,
  plural,
  precisionNote,
  printable,
  readAsText,
  ruleStatus,
} from '../../src/report/format.js';
import { cleanReport, rule, sampleReport, withWholeMs } from './reports.js';

describe('formatMsCell', () => {
  it.each([
    [0, '0'],
    [0.4234, '0.42'],
    // The size class is taken after rounding: three significant digits at every edge.
    [9.999, '10.0'],
    [99.96, '100'],
    [9999.6, '10.0 s'],
    [599_960, '10.0 min'],
    // Too small to show is not zero.
    [0.004, '<0.01'],
    [-0.004, '>-0.01'],
    [12.34, '12.3'],
    [511.6, '512'],
    [9999, '9999'],
    [12_400, '12.4 s'],
    [510_000, '510.0 s'],
    [612_000, '10.2 min'],
    [7_200_000, '2.0 h'],
    // Clock skew: signed, never clamped to zero.
    [-12, '-12.0'],
    [-0.5, '-0.50'],
    [-150, '-150'],
    [-12_400, '-12.4 s'],
    [null, '—'],
    [undefined, '—'],
    [Number.NaN, '—'],
  ])('%s → %s', (ms, expected) => {
    expect(formatMsCell(ms)).toBe(expected);
  });
});

describe('formatMs', () => {
  it.each([
    [0.42, '0.42 ms'],
    [0.004, '<0.01 ms'],
    [150, '150 ms'],
    [9999.6, '10.0 s'],
    [-12, '-12.0 ms'],
    [12_400, '12.4 s'],
    [null, '—'],
  ])('%s → %s', (ms, expected) => {
    expect(formatMs(ms)).toBe(expected);
  });
});

describe('formatShare', () => {
  it.each([
    [0, '0%'],
    [0.004, '0.4%'],
    [0.137, '14%'],
    [1, '100%'],
    [null, '—'],
  ])('%s → %s', (share, expected) => {
    expect(formatShare(share)).toBe(expected);
  });
});

describe('formatTime', () => {
  it('prints epoch milliseconds as ISO 8601 UTC and 0 as unknown', () => {
    expect(formatTime(1_795_573_465_205)).toBe('2026-11-25T02:24:25.205Z');
    expect(formatTime(0)).toBe('—');
    expect(formatTime(Number.POSITIVE_INFINITY)).toBe('—');
  });
});

describe('plural', () => {
  it('adds an s except for one', () => {
    expect([plural(0, 'error'), plural(1, 'error'), plural(2, 'error'), plural(2, 'was', 'were')]).toEqual([
      '0 errors',
      '1 error',
      '2 errors',
      '2 were',
    ]);
  });
});

describe('countedPhrase', () => {
  it.each([
    [2, 'handoffs without baton.timeout_budget_ms', '2 handoffs without baton.timeout_budget_ms'],
    [1, 'handoffs without baton.timeout_budget_ms', '1 handoff without baton.timeout_budget_ms'],
    [
      1,
      'handoffs not acknowledged yet, still within budget when the data ends',
      '1 handoff not acknowledged yet, still within budget when the data ends',
    ],
    [1, 'unacknowledged handoffs whose send is not in the data', '1 unacknowledged handoff whose send is not in the data'],
    [1, 'state reads without baton.state.version_read or baton.epoch', '1 state read without baton.state.version_read or baton.epoch'],
    [1, 'receives without both sender and receiver schema versions', '1 receive without both sender and receiver schema versions'],
    [
      1,
      'tasks whose agent runs declare no baton.agent.depends_on: wait-for cycles not checked',
      '1 task whose agent runs declare no baton.agent.depends_on: wait-for cycles not checked',
    ],
    [
      1,
      'writes with neither baton.idempotency_key nor baton.task.id + baton.step',
      '1 write with neither baton.idempotency_key nor baton.task.id + baton.step',
    ],
    [1, 'chains with handoffs lacking baton.context.token_count', '1 chain with handoffs lacking baton.context.token_count'],
    [1, 'spans ignored by every dialect', '1 span ignored by every dialect'],
    [1, 'entries: too old', '1 entry: too old'],
    [1, 'batches of spans', '1 batch of spans'],
    [1, 'status unknown', '1 status unknown'],
    [0, 'handoffs without a budget', '0 handoffs without a budget'],
  ])('%i, %j → %j', (count, phrase, expected) => {
    expect(countedPhrase(count, phrase)).toBe(expected);
  });

  it('joins a rule’s reasons, each after its count', () => {
    expect(
      notCheckedText([
        { count: 1, reason: 'handoffs without a budget' },
        { count: 3, reason: 'handoffs not acknowledged yet' },
      ]),
    ).toBe('1 handoff without a budget; 3 handoffs not acknowledged yet');
  });
});

describe('ruleStatus', () => {
  it('is the rule’s status, and could-not-run whenever couldNotRun says so, never a silent pass', () => {
    expect(ruleStatus(rule('context-loss', 'ran'))).toBe('ran');
    expect(ruleStatus(rule('context-loss', 'off'))).toBe('off');
    expect(ruleStatus(rule('context-loss', 'could-not-run'))).toBe('could-not-run');
    expect(ruleStatus({ ...rule('context-loss', 'ran'), couldNotRun: true })).toBe('could-not-run');
  });
});

describe('readAsText', () => {
  it('names the dialects that claimed spans, with their counts, in priority order', () => {
    expect(readAsText(sampleReport().inputs.dialects)).toBe('baton (10), otel-genai (2)');
    expect(readAsText([{ id: 'baton', spans: 0, interpreted: 0, traceGroups: 0 }])).toBe('');
  });
});

describe('precisionNote', () => {
  it('speaks when at least 90% of spans have whole-millisecond times', () => {
    const report = { ...sampleReport(), inputs: { ...sampleReport().inputs, spans: 10 } };
    expect(precisionNote(withWholeMs(report, 0))).toBe(
      'Latencies are only millisecond-precise: all spans have whole-millisecond start and end times.',
    );
    expect(precisionNote(withWholeMs(report, 1))).toBe(
      'Latencies are only millisecond-precise: 90% of spans have whole-millisecond start and end times.',
    );
    expect(precisionNote(withWholeMs(report, 2))).toBeUndefined();
    expect(precisionNote({ ...report, inputs: { ...report.inputs, spans: 0, wholeMsSpans: 0 } })).toBeUndefined();
  });
});

describe('percentileErrorText', () => {
  it('states the largest relative error of any percentile, or nothing when all are exact', () => {
    expect(percentileErrorText(sampleReport())).toBe('percentiles ±1%');
    const report = sampleReport();
    const worse = {
      ...report,
      edges: [{ ...report.edges[0]!, ackLatencyMs: { ...report.edges[0]!.ackLatencyMs!, relativeError: 0.0075 } }],
    };
    expect(
      percentileErrorText({
        ...worse,
        tasks: { ...worse.tasks, coordinationShare: null },
        edges: worse.edges.map((e) => ({ ...e, latencyMs: null, validationMs: null })),
      }),
    ).toBe('percentiles ±0.75%');
    expect(percentileErrorText(cleanReport())).toBeUndefined();
  });
});

describe('printable', () => {
  it.each([
    ['plain → text', 'plain → text'],
    ['two\nlines\r\n', String.raw`two\nlines\r\n`],
    ['tab\there', String.raw`tab\there`],
    ['\u001b[2Jclear', String.raw`\u001b[2Jclear`],
    ['nul\u0000 del\u007f c1\u009b', String.raw`nul\u0000 del\u007f c1\u009b`],
    ['bidi \u202eevil\u2066', String.raw`bidi \u202eevil\u2066`],
    ['lone \ud800 pair \ud83d\ude00', 'lone \\ud800 pair \ud83d\ude00'],
  ])('%j → %j', (input, expected) => {
    expect(printable(input)).toBe(expected);
  });
});

describe('formatMsColumn', () => {
  it.each([
    [[0.37, 19.7, 512], ['0.37', '19.70', '512.00']],
    [[19.7, 512], ['19.7', '512.0']],
    [[120, 4_500, 12_400], ['120', '4,500', '12,400']],
    // A real zero, a figure too small to show, and an unknown one never look alike.
    [[0, 0.002, undefined, null, Number.NaN, 1.5], ['0.00', '<0.01', '—', '—', '—', '1.50']],
    [[-12, 5], ['-12.00', '5.00']],
    [[-0.001, 3], ['>-0.01', '3.00']],
    [[0, 0], ['0', '0']],
    [[-0, 2], ['0.00', '2.00']],
    [[], []],
  ] as const)('%j → %j', (values, expected) => {
    expect(formatMsColumn(values)).toEqual(expected);
  });

  it('gives every shown figure of a column the same decimals, and only a real zero reads as zero', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(0), fc.constant(undefined)), { maxLength: 12 }), (values) => {
        const cells = formatMsColumn(values);
        const decimals = new Set(cells.filter((c) => /^-?[\d,]+(\.\d+)?$/.test(c)).map((c) => c.split('.')[1]?.length ?? 0));
        expect(decimals.size).toBeLessThanOrEqual(1);
        values.forEach((value, i) => {
          if (value === undefined) expect(cells[i]).toBe('—');
          else if (Number(cells[i]!.replace(/,/g, '')) === 0) expect(value === 0, `${value} shown as ${cells[i]}`).toBe(true);
        });
      }),
    );
  });
});
