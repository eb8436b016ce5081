/**
 * The committed fixtures for the renderer tests, read through the real ingest
 * (test/helpers/traces.ts), named as fixtures/generate.ts names them.
 */
export { SCENARIOS as FIXTURE_NAMES } from '../../fixtures/generate.js';
export { loadFixture } from '../helpers/traces.js';
