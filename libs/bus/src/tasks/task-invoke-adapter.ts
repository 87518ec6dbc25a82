import type { BusClient } from '../bus/bus-client.js';
import type { HandlerContext } from '../interfaces/handler.interface.js';
import type { BusSubscription } from '../interfaces/bus-subscription.interface.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { TaskClient } from './task-client.js';

/**
 * Serves a task target as a plain invoke (docs/protocol.md §3): an upstream Go or Python agent that calls it waits for the
 * task's result as for any invoke. Its deadline and cancellation carry over: the caller going away cancels the task.
 */
export function serveTaskAsInvoke(bus: BusClient, tasks: TaskClient, target: string): BusSubscription {
  return bus.handleInvoke(target, async (payload: unknown, ctx: HandlerContext) => {
    const task = await tasks.submit(target, payload);
    let done;
    try {
      done = await tasks.wait(task.id, { signal: ctx.signal, orPause: true });
    } catch (err) {
      await tasks.cancel(task.id).catch(() => undefined);
      throw err;
    }
    if (done.state === 'completed') return done.result;
    if (done.error) throw BusError.fromPayload(done.error);
    if (done.state === 'input-required' || done.state === 'auth-required') {
      throw new BusError(
        ErrorCodes.INVALID_REQUEST,
        `task ${task.id} needs more input (${done.status_message ?? done.state}): use the task API`,
      );
    }
    throw new BusError(ErrorCodes.AGENT_UNAVAILABLE, `task ${task.id} ended ${done.state}`, {
      retryable: false,
      cause: { task_id: task.id },
    });
  });
}
