/**
 * Agent names as graphology node keys. graphology keeps neighbours in plain
 * objects, so a node named `constructor`, `valueOf` or `__proto__` collides
 * with Object.prototype ("an edge … already exists", or worse). Names from a
 * trace are data: every key gets a prefix no prototype property has.
 */

/** The graphology key of an agent name. */
export function nodeKey(name: string): string {
  return `#${name}`;
}

/** The agent name of a graphology key made by nodeKey. */
export function nodeName(key: string): string {
  return key.slice(1);
}
