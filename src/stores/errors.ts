/**
 * Errors of the versioned-state pattern stores. A conflicting version is the
 * SDK's StateConflictError (the same class InMemoryStateStore throws), so code
 * written against one store catches the same error from another.
 */
import { BatonError } from '../model/errors.js';

export { StateConflictError } from '../sdk/state-store.js';

/**
 * A write carried an epoch older than the one stored: the writer acts for a task
 * stage that was already superseded (a zombie worker, a retry from an earlier
 * stage). The epoch works as a fencing token; the write was not applied.
 */
export class StaleEpochWriteError extends BatonError {
  readonly code = 'BATON_STATE_STALE_EPOCH';
  constructor(
    readonly key: string,
    readonly epoch: number,
    readonly currentEpoch: number,
  ) {
    super(`state ${key} is at epoch ${currentEpoch}; a write from epoch ${epoch} is stale`);
  }
}
