import { deadlineExceededError } from '../errors/handler-failures.js';
import type { Expiring } from '../timers/deadline-wheel.js';
import type { LazyAbort } from '../utils/lazy-abort.js';

/** A served call's deadline in the wheel: aborts the handler when it passes (an object, not a closure per call). */
export class HandlerDeadline implements Expiring {
  constructor(
    private readonly abort: LazyAbort,
    private readonly target: string,
  ) {}

  expire(): void {
    this.abort.abort(deadlineExceededError(this.target));
  }
}
