/**
 * The collection a Redis key is named by when the app gives no `collectionOf`: the span name
 * (`write task`) and the metrics series come from it, so it must not be the per-task part of a
 * key, including a Cluster hash tag (`{t-1}:state`, the form docs/stores.md recommends there).
 */
import { describe, expect, it } from 'vitest';
import { defaultCollectionOf } from '../../src/stores/redis-commands.js';

describe('defaultCollectionOf', () => {
  it.each([
    ['task:t-1', 'task'],
    ['task:{t-1}', 'task'],
    ['{t-1}:state', 'state'],
    ['{t-1}:state:draft', 'state'],
    ['{t-1}', undefined],
    ['{t-1}:', undefined],
    ['plain', undefined],
  ])('%s → %s', (key, collection) => {
    expect(defaultCollectionOf(key)).toBe(collection);
  });
});
