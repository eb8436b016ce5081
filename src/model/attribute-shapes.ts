/**
 * Attribute maps built by shape, for the readers (src/ingest) and for the spans the Auditor reduces. The spans of one instrumentation carry the same attribute keys in
 * the same order, span after span; built by one keyed store per attribute, each map walks V8's
 * transition tree key by key through a megamorphic store (about 200 ns an attribute, the largest
 * part of reading a span). Here the key sequences seen are kept in a trie, and a sequence seen
 * often enough gets a constructor compiled from an object literal of its keys, which V8 allocates
 * in one step with the final layout, the way code generators such as ajv and fast-json-stringify
 * build their output. Keys come from untrusted input: they enter the generated source only as JSON
 * string literals, `__proto__` (which a literal would take as the prototype) never does, and both
 * the trie and the number of constructors are bounded, so adversarial key sets fall back to the
 * plain build, never to unbounded memory or compile time.
 *
 * The result is the object the plain build makes: the same keys in the same order, a repeated
 * key at its first place with its last value, Object's prototype.
 */
import { MANY_ATTRIBUTES, type AttributeValue } from './span-record.js';

interface ShapeNode {
  /** Next node by the following key; undefined until a sequence continues past this node. */
  next: Map<string, ShapeNode> | undefined;
  /** Maps built ending at this node. */
  seen: number;
  /** The compiled constructor of this key sequence, once it was seen `COMPILE_AFTER` times. */
  build: ((values: readonly AttributeValue[]) => Record<string, AttributeValue>) | undefined;
  /** False when the sequence holds `__proto__`, or a node past the bound: never compiled. */
  compilable: boolean;
}

/** Maps built of one sequence before it gets a constructor: compiling costs about as much as a few hundred plain builds. */
const COMPILE_AFTER = 32;
/** Trie nodes kept (one per distinct prefix of a key sequence): a few per instrumentation in real data. */
const MAX_NODES = 20_000;
/** Constructors compiled per builder. */
const MAX_COMPILED = 512;

const newNode = (compilable: boolean): ShapeNode => ({ next: undefined, seen: 0, build: undefined, compilable });

/**
 * Builds attribute maps one at a time: `start`, `add` each key and value in order, `finish`. Not
 * reentrant: one map is built at a time (a nested value is a tree, not a map built here).
 */
export class AttributeShapes {
  readonly #root = newNode(true);
  /** Past MAX_NODES, sequences that leave the trie end here: counted nowhere, never compiled. */
  readonly #off = newNode(false);
  #nodes = 1;
  #compiled = 0;
  #node: ShapeNode = this.#root;
  readonly #keys: string[] = [];
  readonly #values: AttributeValue[] = [];
  #length = 0;

  start(): void {
    this.#node = this.#root;
    this.#length = 0;
  }

  add(key: string, value: AttributeValue): void {
    const at = this.#length++;
    this.#keys[at] = key;
    this.#values[at] = value;
    const node = this.#node;
    if (node === this.#off) return;
    let child = node.next?.get(key);
    if (child === undefined) {
      if (this.#nodes >= MAX_NODES) {
        this.#node = this.#off;
        return;
      }
      child = newNode(node.compilable && key !== '__proto__');
      (node.next ??= new Map()).set(key, child);
      this.#nodes++;
    }
    this.#node = child;
  }

  finish(): Record<string, AttributeValue> {
    const length = this.#length;
    const node = this.#node;
    if (node.build !== undefined) {
      // The constructor reads exactly `length` values: the scratch array's later slots are never seen.
      return node.build(this.#values);
    }
    if (node !== this.#off && node.compilable && ++node.seen >= COMPILE_AFTER && this.#compiled < MAX_COMPILED) {
      node.build = compile(this.#keys, length);
      this.#compiled++;
      return node.build(this.#values);
    }
    return plainBuild(this.#keys, this.#values, length);
  }
}

/** One keyed store per attribute below MANY_ATTRIBUTES, Object.fromEntries from it on (see MANY_ATTRIBUTES). */
function plainBuild(keys: readonly string[], values: readonly AttributeValue[], length: number): Record<string, AttributeValue> {
  if (length >= MANY_ATTRIBUTES) {
    const pairs = new Array<[string, AttributeValue]>(length);
    for (let i = 0; i < length; i++) pairs[i] = [keys[i]!, values[i]!];
    return Object.fromEntries(pairs) as Record<string, AttributeValue>;
  }
  const attributes: Record<string, AttributeValue> = {};
  for (let i = 0; i < length; i++) setAttribute(attributes, keys[i]!, values[i]!);
  return attributes;
}

/**
 * Sets one attribute on a plain object. Attribute maps keep Object's prototype
 * (prototype-free objects are dictionary-mode in V8, slower on every read), so the
 * one key an assignment would not store, `__proto__`, is defined as an own property.
 */
function setAttribute(attributes: Record<string, AttributeValue>, key: string, value: AttributeValue): void {
  if (key === '__proto__') Object.defineProperty(attributes, key, { value, enumerable: true, writable: true, configurable: true });
  else attributes[key] = value;
}

/** `(v) => ({"k0": v[0], "k1": v[1], …})`; keys are JSON string literals and never `__proto__`. */
function compile(keys: readonly string[], length: number): (values: readonly AttributeValue[]) => Record<string, AttributeValue> {
  const fields: string[] = new Array(length);
  for (let i = 0; i < length; i++) fields[i] = `${JSON.stringify(keys[i])}: v[${i}]`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see the module comment: keys enter only as JSON string literals.
  return new Function('v', `return {${fields.join(', ')}};`) as (values: readonly AttributeValue[]) => Record<string, AttributeValue>;
}
