/**
 * `baton demo` as a newcomer runs it, without a terminal: the pipeline task
 * after task under the real Node SDK, its spans sent by the real OTLP/HTTP
 * exporter to the receiver embedded in the command, recorded, then audited.
 * What the audit must find is taken from the pipeline's own log (which task
 * carried which fault, how many tasks ran, what the SDK counted), never from
 * the trace. The clean near-miss (--faults none) must find nothing.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS, type Fault } from '../../examples/pipeline/pipeline.js';
import { FaultSchedule, parseDuration, parseFaults } from '../../cli/commands/demo.js';
import { RULES_OF_FAULT } from '../helpers/fault-rules.js';
import { runBaton, runBatonInProcess, type CliRun } from '../helpers/cli.js';
import { startBaton } from '../helpers/watch-process.js';


interface Finding {
  ruleId: string;
  taskId?: string;
}
interface Report {
  inputs: { spans: number };
  findings: Finding[];
  edges: { handoffs: number }[];
  tasks: { count: number };
}

/** What the demo says it did: its "Pipeline:" account, the SDK's counts and the exporter's. */
interface DemoLog {
  tasks: number;
  clean: number;
  faulty: { taskId: string; fault: Fault; outcome: string }[];
  handoffsSent: number;
  exported: number;
  accepted: number;
  traceLine: string;
  /** The audit as the demo printed it: everything after its `baton audit <file>` line. */
  audit: string;
}

function readDemoLog(stdout: string): DemoLog {
  const flat = stdout.replace(/\s+/g, ' ');
  const pipeline = /Pipeline: (\d+) tasks? in [\d.]+ s \([^)]*\): (\d+) clean tasks? \([^)]*\), (\d+) with a fault injected/.exec(flat);
  expect(pipeline, 'the Pipeline: line').not.toBeNull();
  const faulty = [...stdout.matchAll(/^ {2}(\S+-\d{4}) +(\S+) +(completed|failed|deadlocked)$/gm)].map((m) => ({
    taskId: m[1]!,
    fault: m[2] as Fault,
    outcome: m[3]!,
  }));
  expect(faulty).toHaveLength(Number(pipeline![3]));
  const auditAt = stdout.indexOf('\nbaton audit ');
  return {
    tasks: Number(pipeline![1]),
    clean: Number(pipeline![2]),
    faulty,
    handoffsSent: Number(/Handoffs sent (\d+),/.exec(flat)![1]),
    exported: Number(/Exported (\d+) spans? with the OTLP\/HTTP protobuf exporter/.exec(flat)![1]),
    accepted: Number(/the receiver accepted (\d+)\./.exec(flat)![1]),
    traceLine: /^Trace: .*$/m.exec(stdout)![0],
    audit: auditAt === -1 ? '' : stdout.slice(stdout.indexOf('\n', auditAt + 1) + 1).replace(/^\n/, ''),
  };
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'baton-demo-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

// Each case starts the CLI from source (tsx) and runs the pipeline for seconds: slow on a busy machine.
describe('baton demo', { timeout: 180_000 }, () => {
  let run: CliRun;
  let log: DemoLog;
  let report: Report;
  let audit: CliRun;
  beforeAll(async () => {
    run = await runBaton(['demo', '--out', 'all.jsonl'], { cwd: work });
    log = readDemoLog(run.stdout);
    audit = await runBaton(['audit', 'all.jsonl'], { cwd: work });
    report = JSON.parse((await runBaton(['audit', '--format', 'json', 'all.jsonl'], { cwd: work })).stdout) as Report;
  }, 180_000);

  it('by default injects every fault once, each in its own task between clean ones, and exits 0', () => {
    expect(run.code).toBe(0);
    expect(log.faulty.map((t) => t.fault).sort()).toEqual([...FAULTS].sort());
    expect(new Set(log.faulty.map((t) => t.taskId)).size).toBe(FAULTS.length);
    expect(log.clean).toBe(log.tasks - FAULTS.length);
    // Faults start half an interval in: the first task runs clean.
    expect(log.faulty.map((t) => t.taskId)).not.toContain('research-0001');
    for (const { taskId, fault } of log.faulty) expect(run.stderr).toContain(`baton demo: ${taskId}: injected ${fault}\n`);
    // Without a terminal: the plain monitor's lines and its final summary.
    expect(run.stderr).toContain('baton demo: not a terminal');
    expect(run.stdout).toMatch(new RegExp(`^baton demo: ${log.exported.toLocaleString('en-US')} spans accepted, 0 rejected, 0 throttled`, 'm'));
  });

  it('sends every span through the exporter to the embedded receiver, and records all of them', () => {
    expect(log.exported).toBeGreaterThan(0);
    expect(log.accepted).toBe(log.exported);
    expect(log.traceLine).toBe(`Trace: all.jsonl (${log.exported} spans, OTLP/JSON Lines)`);
    expect(report.inputs.spans).toBe(log.exported);
  });

  it('the recording holds every task the pipeline ran, and every handoff its SDK sent', () => {
    expect(report.tasks.count).toBe(log.tasks);
    expect(report.edges.reduce((sum, e) => sum + e.handoffs, 0)).toBe(log.handoffsSent);
  });

  it('the audit finds each injected fault in the task that carried it, and nothing in the clean tasks', () => {
    const byTask = new Map<string, Set<string>>();
    for (const f of report.findings) {
      expect(f.taskId, f.ruleId).toBeDefined();
      let rules = byTask.get(f.taskId!);
      if (!rules) byTask.set(f.taskId!, (rules = new Set()));
      rules.add(f.ruleId);
    }
    for (const { taskId, fault } of log.faulty) expect([...(byTask.get(taskId) ?? [])].sort(), `${taskId} (${fault})`).toEqual([...RULES_OF_FAULT[fault]].sort());
    expect([...byTask.keys()].sort()).toEqual(log.faulty.map((t) => t.taskId).sort());
  });

  it('prints the audit of everything received exactly as baton audit prints it for the recording', () => {
    expect(audit.code).toBe(1);
    expect(run.stdout).toContain('\nbaton audit all.jsonl\n');
    expect(log.audit).toBe(audit.stdout);
  });

  it('with --faults none, the same pipeline runs clean and the audit finds nothing, whatever OTEL_ settings the shell has', async () => {
    // A sampler or attribute limit from the environment would drop spans or attributes: the demo sets its own.
    const env = { OTEL_TRACES_SAMPLER: 'always_off', OTEL_ATTRIBUTE_COUNT_LIMIT: '4', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '3' };
    const clean = await runBaton(['demo', '--faults', 'none', '--duration', '1s', '--out', 'clean.jsonl'], { cwd: work, env });
    expect(clean.code).toBe(0);
    const cleanLog = readDemoLog(clean.stdout);
    expect(cleanLog.faulty).toEqual([]);
    expect(cleanLog.tasks).toBeGreaterThan(1);
    expect(clean.stdout.replace(/\s+/g, ' ')).toContain(`${cleanLog.tasks} clean tasks (${cleanLog.tasks} completed), 0 with a fault injected.`);
    expect(clean.stderr).not.toContain('injected');
    expect(clean.stdout).toContain('no findings');
    const cleanReport = JSON.parse((await runBaton(['audit', '--format', 'json', 'clean.jsonl'], { cwd: work })).stdout) as Report;
    expect(cleanReport.findings).toEqual([]);
    expect(cleanReport.tasks.count).toBe(cleanLog.tasks);
    expect(cleanReport.inputs.spans).toBe(cleanLog.exported);
  });

  it('never overwrites an existing file', async () => {
    await writeFile(join(work, 'keep.jsonl'), 'precious');
    const kept = await runBaton(['demo', '--out', 'keep.jsonl'], { cwd: work });
    expect(kept.code).toBe(2);
    expect(kept.stderr).toBe('baton demo: cannot write keep.jsonl: the file exists (choose another --out)\n');
    expect(await readFile(join(work, 'keep.jsonl'), 'utf8')).toBe('precious');
  });
});

describe('baton demo stopped by a signal', () => {
  // A ten-minute run: only the signal can end it within the test's timeout.
  it.each(['SIGINT', 'SIGTERM'] as const)('on %s without a terminal, stops the pipeline, prints the audit of what ran and exits 0', async (signal) => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-demo-signal-'));
    try {
      const demo = startBaton('demo', ['--duration', '10m', '--faults', 'none', '--out', 'run.jsonl'], dir);
      await expect.poll(() => demo.stderr(), { timeout: 60_000, interval: 100 }).toMatch(/spans [1-9][\d,]* \(/);
      demo.child.kill(signal);
      expect(await demo.exited()).toBe(0);
      expect(demo.stdout()).toContain('Baton audit');
      const audit = await runBaton(['audit', '--format', 'json', 'run.jsonl'], { cwd: dir });
      expect((JSON.parse(audit.stdout) as { inputs: { spans: number } }).inputs.spans).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('baton demo flags', () => {
  // Refused before anything starts (no SDK, no receiver): in-process is enough.
  it.each([
    [['--faults', 'gremlins'], 'baton demo: unknown fault "gremlins"; one of: all, none, cycle, '],
    [['--faults', 'stale-reed'], 'baton demo: unknown fault "stale-reed"; did you mean "stale-read"?\n'],
    [['--faults', 'stale-read,ack-timeot'], 'baton demo: unknown fault "ack-timeot"; did you mean "ack-timeout"?\n'],
    [['--faults', 'non'], 'baton demo: unknown fault "non"; did you mean "none"?\n'],
    [['--faults', 'stale-read,,ack-timeout'], 'baton demo: --faults: empty name in "stale-read,,ack-timeout"'],
    [['--faults', 'none', '--fault', 'stale-read'], 'baton demo: --faults none and --fault stale-read contradict each other'],
    [['--fault', 'gremlins'], 'baton demo: unknown fault "gremlins"'],
    [['--faults'], 'baton demo: --faults needs a value\n'],
    [['--duration', '0'], 'baton demo: --duration must be a time above zero'],
    [['--duration', '20 minutes'], 'baton demo: --duration must be a time above zero such as 20, 20s, 2m or 500ms, not "20 minutes"\n'],
    [['--task', ''], 'baton demo: --task needs a non-empty prefix\n'],
  ])('%j: one stderr line, exit 2', async (args, message) => {
    const refused = await runBatonInProcess(['demo', ...args], { cwd: work });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.startsWith(message)).toBe(true);
    expect(refused.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('--help lists the faults under --faults', async () => {
    const help = await runBatonInProcess(['demo', '--help'], { cwd: work });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--faults <none|all|list>');
    for (const fault of FAULTS) expect(help.stdout).toMatch(new RegExp(`^ {8}${fault} `, 'm'));
  });
});

describe('parseFaults', () => {
  it('reads all (the default), none, and a comma list in the order given, each once', () => {
    expect(parseFaults(undefined, [], FAULTS)).toEqual([...FAULTS]);
    expect(parseFaults('all', [], FAULTS)).toEqual([...FAULTS]);
    expect(parseFaults('none', [], FAULTS)).toEqual([]);
    expect(parseFaults(' ack-timeout , stale-read,ack-timeout', [], FAULTS)).toEqual(['ack-timeout', 'stale-read']);
  });

  it('takes --fault as the list (the old flag), or added to --faults', () => {
    expect(parseFaults(undefined, ['stale-read', 'cycle'], FAULTS)).toEqual(['stale-read', 'cycle']);
    expect(parseFaults('cycle', ['stale-read', 'cycle'], FAULTS)).toEqual(['cycle', 'stale-read']);
  });
});

describe('parseDuration', () => {
  it.each([
    ['20', 20_000],
    ['20s', 20_000],
    ['1.5', 1_500],
    ['2m', 120_000],
    ['500ms', 500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '0', '-1', 'x', '1h', '1e3'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/--duration must be a time above zero/);
  });
});

describe('FaultSchedule', () => {
  /** Runs tasks of the given lengths back to back from 0 until `durationMs` and the list are done; returns the fault each carried. */
  function simulate(faults: readonly Fault[], durationMs: number, taskMs: readonly number[]): (Fault | undefined)[] {
    const schedule = new FaultSchedule(faults, durationMs);
    const carried: (Fault | undefined)[] = [];
    let now = 0;
    for (let i = 0; !(now >= durationMs && schedule.complete); i++) {
      carried.push(schedule.next(now));
      now += taskMs[i % taskMs.length]!;
    }
    return carried;
  }

  it('starts clean, then injects the faults in order at even intervals', () => {
    const carried = simulate(['cycle', 'stale-read'], 1_000, [100]);
    expect(carried).toEqual([undefined, undefined, undefined, 'cycle', undefined, undefined, undefined, undefined, 'stale-read', undefined]);
  });

  it('with no faults, every task is clean and the run ends with the duration', () => {
    expect(simulate([], 1_000, [100])).toEqual(Array.from({ length: 10 }, () => undefined));
  });

  it('in a long run, cycles through the list again, at most 5 s apart', () => {
    const carried = simulate(['cycle', 'stale-read'], 60_000, [1_000]);
    expect(carried.filter((f) => f !== undefined)).toEqual(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 'cycle' : 'stale-read')));
  });

  it('whatever the task lengths: the list in order, one fault a task at most, never ahead of time, each fault at least once', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...FAULTS), { minLength: 1 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.array(fc.integer({ min: 1, max: 3_000 }), { minLength: 1, maxLength: 20 }),
        (faults, durationMs, taskMs) => {
          const schedule = new FaultSchedule(faults, durationMs);
          let now = 0;
          let injected = 0;
          for (let i = 0; !(now >= durationMs && schedule.complete); i++) {
            const fault = schedule.next(now);
            if (fault !== undefined) {
              expect(fault).toBe(faults[injected % faults.length]);
              injected++;
              // Due: the n-th fault falls half an interval after the (n-1)-th interval starts.
              expect(now).toBeGreaterThanOrEqual((injected - 0.5) * schedule.intervalMs - 1e-6);
            }
            now += taskMs[i % taskMs.length]!;
          }
          expect(injected).toBeGreaterThanOrEqual(faults.length);
        },
      ),
    );
  });
});
