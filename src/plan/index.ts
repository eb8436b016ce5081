/** `baton-sdk/plan`: dependency-plan checks, kept off the SDK entry so hosts load graphology only if they use them. */
export { findPlanCycle, validatePlan } from './validate-plan.js';
export type { DependencyPlan, ValidatePlanOptions } from './validate-plan.js';
export { PlanCycleError, PlanInvalidError } from '../model/errors.js';
