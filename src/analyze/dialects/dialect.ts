/**
 * The seam between spans and the handoff model. A dialect knows one vocabulary
 * (Baton's conventions, the OTel GenAI agent conventions, a framework's own
 * span shapes) and turns the spans of one trace group into typed handoff parts;
 * the shared assembly (../assemble.ts) pairs, links and orders the parts into
 * the HandoffModel the detectors read. A dialect never invents spans: every
 * part points at the real span it came from, so evidence names spans the
 * user's backend has. One contract suite (test/analyze/dialects/contract.test.ts)
 * runs every dialect on the same scenarios.
 *
 * Modelled on jaeger-ui's trace contract suite, where every wire format is
 * parsed to one model: https://github.com/jaegertracing/jaeger-ui
 */
import type { EnvelopeFacts, TransferMode } from '../../model/handoff-model.js';
import type { SpanRecord } from '../../model/span-record.js';

interface PartBase {
  /** The span this part was read from. */
  readonly span: SpanRecord;
}

/** An agent doing work: `invoke_agent`, or Baton's agent run. */
export interface AgentRunPart extends PartBase {
  readonly type: 'agent-run';
  readonly agent: string;
  readonly agentId?: string;
  readonly taskId?: string;
  readonly outcome?: 'completed' | 'failed' | 'blocked';
  /** Agents this run waits on (declared dependencies). */
  readonly dependsOn?: readonly string[];
  readonly inputTokens?: number;
  readonly outputTokens?: number;
}

/** The sending side of a message handoff. */
export interface SendPart extends PartBase, EnvelopeFacts {
  readonly type: 'send';
  /** Pairs sends, receives and acks; undefined when the span carries none (the part stands alone). */
  readonly handoffId?: string;
  readonly taskId?: string;
  readonly source?: string;
  readonly target?: string;
}

/** The receiving side of a message handoff. */
export interface ReceivePart extends PartBase, EnvelopeFacts {
  readonly type: 'receive';
  readonly handoffId?: string;
  readonly taskId?: string;
  readonly source?: string;
  readonly target?: string;
  /** The agent that received (defaults to `target`). */
  readonly agent?: string;
  readonly senderSchemaVersion?: string;
  /** An acknowledgement recorded on the receive span itself (automatic ack). */
  readonly ack?: { readonly delayMs?: number; readonly withinBudget?: boolean };
}

/** A manual acknowledgement on its own span. */
export interface AckPart extends PartBase {
  readonly type: 'ack';
  readonly handoffId: string;
  readonly taskId?: string;
  readonly source?: string;
  readonly target?: string;
  readonly delayMs?: number;
  readonly withinBudget?: boolean;
}

/**
 * An in-process transfer recorded as one span holding both sides (a handoff
 * tool call), optionally with the span where the target took over.
 */
export interface TransferPart extends PartBase {
  readonly type: 'transfer';
  readonly source: string;
  readonly target: string;
  readonly taskId?: string;
  readonly mode?: TransferMode;
  /** True when the dialect inferred the transfer from span structure (a tool name, nesting) rather than reading declared attributes. */
  readonly inferred: boolean;
  /** The target's agent run that started after the transfer, when found: arrival time for latency. */
  readonly arrival?: SpanRecord;
  /** How many transfer spans this part stands for: more than one is a retried transfer (`span` is the earliest). Default 1. */
  readonly sendCount?: number;
  /**
   * Set when the framework refused the transfer: it named an agent that never ran and
   * the tool call failed or reported an error (or the sender's run failed right after
   * it). The reason, lowercased, becomes the handoff's delivery status: an undelivered
   * handoff, with no arrival and `target` 'unknown' (the name asked for is in the reason).
   */
  readonly refusal?: string;
}

export interface StateAccessPart extends PartBase {
  readonly type: 'state-read' | 'state-write';
  readonly key: string;
  /** The store's name (`db.system.name`, plus `db.namespace` when given); '' when unnamed. */
  readonly store?: string;
  readonly agent?: string;
  readonly taskId?: string;
  readonly versionRead?: number;
  readonly versionWritten?: number;
  readonly found?: boolean;
  readonly epoch?: number;
  readonly attempt?: number;
  readonly idempotencyKey?: string;
  readonly step?: string;
  readonly expectedTopic?: string;
  readonly deduplicated?: boolean;
  /** For writes: the version the write expected to replace (a compare-and-set, `baton.state.version_expected`). */
  readonly versionExpected?: number;
  /** For a failed write: its reply never came (`error.type = timeout`), so it may have committed all the same. */
  readonly outcomeUnknown?: boolean;
}

export interface EventPart extends PartBase {
  readonly type: 'publish' | 'consume';
  readonly topic: string;
  readonly messageId?: string;
  readonly taskId?: string;
  readonly agent?: string;
  readonly key?: string;
  readonly stateVersion?: number;
}

/**
 * What a router did with a message (Agent Framework's edge groups): delivered,
 * buffered, or dropped. Joins the handoff of `handoffId`.
 */
export interface DeliveryPart extends PartBase {
  readonly type: 'delivery';
  readonly handoffId: string;
  readonly taskId?: string;
  readonly source?: string;
  readonly target?: string;
  /** As recorded, lowercased (`delivered`, `buffered`, `dropped type mismatch`, `exception`, …). */
  readonly status: string;
  /** True for `delivered` and `buffered`. */
  readonly accepted: boolean;
  readonly router?: string;
}

/** A typed piece of coordination read from one span. */
export type HandoffPart = AgentRunPart | SendPart | ReceivePart | AckPart | TransferPart | StateAccessPart | EventPart | DeliveryPart;

/** A span a dialect claimed but did not use, and why (for `--explain`). */
export interface IgnoredSpan {
  readonly span: SpanRecord;
  readonly reason: string;
}

/** What a dialect made of its spans. */
export interface DialectResult {
  readonly parts: readonly HandoffPart[];
  readonly ignored: readonly IgnoredSpan[];
  /** Versions of the vocabulary seen (`baton.conventions.version`), when it has them. */
  readonly versions?: readonly string[];
}

/**
 * Structural lookups over the whole trace group (every span, whichever dialect
 * claimed it). Walks are iterative and cycle-safe: a trace can claim a span is
 * its own ancestor.
 */
export interface DialectContext {
  span(spanId: string): SpanRecord | undefined;
  parentOf(span: SpanRecord): SpanRecord | undefined;
  /** Children in start order (then span id). */
  childrenOf(span: SpanRecord): readonly SpanRecord[];
  /** The nearest proper ancestor for which `test` holds, or undefined. */
  ancestorWhere(span: SpanRecord, test: (candidate: SpanRecord) => boolean): SpanRecord | undefined;
}

/** One vocabulary of spans. */
export interface Dialect {
  /** Stable id, used by `--dialect` and in reports. */
  readonly id: string;
  /** One line for `--help` and `--explain`. */
  readonly description: string;
  /**
   * Whether it reads an attribute of this name: spans kept open for long are
   * reduced to the attributes some dialect reads, so memory follows what the
   * rules need rather than what the spans carry.
   */
  readsAttribute(name: string): boolean;
  /**
   * Whether it reads span events of this name on this span (kept on reduced spans too); absent: it
   * reads none. The span matters: Strands writes the event it reads on tool spans on every chat
   * span of the conversation too, and keeping those grew memory with the square of its length.
   */
  readsEvent?(name: string, span: SpanRecord): boolean;
  /** Cheap test run on every span: is it in this vocabulary? The first dialect (in priority order) that claims a span interprets it. */
  claims(span: SpanRecord): boolean;
  /** Turns the spans this dialect claimed in one trace group into parts. Pure. */
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult;
}

/**
 * Whether a span below `root` matches, searching depth-first through the spans
 * `descendsInto` accepts (a search stops at another executor's or handler's span,
 * whose inside is its own). At most 10,000 spans are visited: a bound on hostile
 * or cyclic trees, far above any real handler's subtree.
 */
export function hasDescendant(
  context: DialectContext,
  root: SpanRecord,
  matches: (span: SpanRecord) => boolean,
  descendsInto: (span: SpanRecord) => boolean,
): boolean {
  const stack: SpanRecord[] = [root];
  let budget = 10_000;
  while (stack.length > 0 && budget-- > 0) {
    const children = context.childrenOf(stack.pop()!);
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      if (matches(child)) return true;
      if (descendsInto(child)) stack.push(child);
    }
  }
  return false;
}

/** A part as a dialect builds it, field by field, before handing it over read-only. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
