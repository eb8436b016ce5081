/**
 * Errors of the versioned-state pattern stores. A conflicting version is the
 * SDK's StateConflictError (the same class InMemoryStateStore throws), so code
 * written against one store catches the same error from another. Both are
 * defined with the SDK's other errors (model/errors.ts, `baton-sdk/errors`).
 */
export { StaleEpochWriteError, StateConflictError } from '../model/errors.js';
