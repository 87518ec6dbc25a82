/** Whether a handler's value is an async iterable (an async generator, a readable stream, …): its items are deltas. */
export function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return !!v && typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}
