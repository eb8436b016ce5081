/**
 * Nested OTLP attribute values (`arrayValue`, `kvlistValue`) as the analyzer keeps
 * them, shared by the JSON and protobuf readers so both give the same result.
 *
 * Both readers first build a plain tree (arrays; prototype-free objects for key-value
 * lists) no deeper than {@link MAX_ATTRIBUTE_NESTING}, then {@link attributeOfTree}
 * turns it into an AttributeValue: an array stays an array, a key-value list becomes
 * its JSON text (attributes are flat), serialized once at its top. Serializing each
 * level into a string that the level above serializes again escaped every backslash
 * once more per level: 2^depth growth (a 1.6 KB file took 278 MiB, depth 28 ran out
 * of string length).
 *
 * Values nested deeper than the cap are kept as null and never walked: no dialect
 * reads past the second level (a tool call's arguments and an agent object's
 * `name`), the cost stays bounded by the bytes of the kept part, and recursion over
 * the tree is at most the cap deep, whatever the input's depth (JSON.parse itself is
 * iterative: a million levels parse).
 */
import type { AttributeValue } from '../model/span-record.js';

/** Levels of arrays and key-value lists kept inside one attribute value; deeper values read as null. */
export const MAX_ATTRIBUTE_NESTING = 16;

/** A nested value before it becomes an attribute: a scalar, an array, or a key-value list (a prototype-free object). */
export type AttributeTree = string | number | boolean | null | AttributeTree[] | { [key: string]: AttributeTree };

/** A new key-value list node: prototype-free, so keys such as `__proto__` are plain data. */
export function newKeyValueNode(): { [key: string]: AttributeTree } {
  return Object.create(null) as { [key: string]: AttributeTree };
}

/**
 * The attribute value of a tree: scalars as they are, arrays element by element
 * (a key-value list inside one becomes its JSON text), a key-value list as JSON text.
 */
export function attributeOfTree(tree: AttributeTree): AttributeValue {
  if (tree === null || typeof tree !== 'object') return tree;
  if (!Array.isArray(tree)) return JSON.stringify(tree);
  const out: AttributeValue[] = new Array(tree.length);
  for (let i = 0; i < tree.length; i++) out[i] = attributeOfTree(tree[i]!);
  return out;
}
