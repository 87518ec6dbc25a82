/** Whether a handler's result is a promise (or any thenable): the callers answer plain values without one. */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return !!v && typeof (v as PromiseLike<unknown>).then === 'function';
}
