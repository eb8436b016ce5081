/**
 * The rules each failure mode of the example pipeline must trigger, and only those: what the
 * fixtures' audit test and the demo's end-to-end test both hold the analyzer to.
 */
import type { Fault } from '../../examples/pipeline/pipeline.js';

export const RULES_OF_FAULT: Readonly<Record<Fault, readonly string[]>> = {
  cycle: ['dependency-cycle'],
  'stale-read': ['stale-epoch-read'],
  'duplicate-write': ['duplicate-write', 'partial-handoff'],
  'partial-handoff': ['partial-handoff'],
  'ack-timeout': ['ack-timeout'],
  'schema-drift': ['schema-drift'],
  'context-blowup': ['context-blowup'],
  'context-loss': ['context-loss'],
  'revision-loop': ['dependency-cycle'],
  'lost-trace-context': ['unlinked-handoff'],
};
