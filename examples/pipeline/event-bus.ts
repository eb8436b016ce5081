/**
 * An in-process event bus for the example: messages cross it as JSON text, as
 * they would cross a broker, so nothing but the message itself links the sides.
 */
import type { EventMessage } from 'baton-sdk';

/** Waits for events by task and topic; a message published before anyone waits is kept. */
export class EventBus {
  readonly #pending = new Map<string, string[]>();
  readonly #waiters = new Map<string, (text: string) => void>();

  publish(message: EventMessage): void {
    const text = JSON.stringify(message);
    const channel = `${message.task_id ?? ''}/${message.topic}`;
    const waiter = this.#waiters.get(channel);
    if (waiter) {
      this.#waiters.delete(channel);
      setImmediate(() => waiter(text));
      return;
    }
    const queue = this.#pending.get(channel) ?? [];
    queue.push(text);
    this.#pending.set(channel, queue);
  }

  /** Resolves with the next message of `taskId` on `topic`, or undefined after `timeoutMs`. */
  next(taskId: string, topic: string, timeoutMs: number): Promise<EventMessage | undefined> {
    const channel = `${taskId}/${topic}`;
    const queued = this.#pending.get(channel);
    if (queued && queued.length > 0) return Promise.resolve(JSON.parse(queued.shift()!) as EventMessage);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(channel);
        resolve(undefined);
      }, timeoutMs);
      this.#waiters.set(channel, (text) => {
        clearTimeout(timer);
        resolve(JSON.parse(text) as EventMessage);
      });
    });
  }
}
