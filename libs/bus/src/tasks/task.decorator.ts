import { TASK_HANDLER_METADATA } from '../constants.js';
import { handlerDecorator, type HandlerMetadata } from '../decorators/handler-decorator.js';
import type { TaskHandlerOptions } from './task-worker.js';

/** What @Task records on a method; TasksModule's explorer reads it at bootstrap. */
export type TaskHandlerMetadata = HandlerMetadata<'task', TaskHandlerOptions>;

/**
 * Marks a provider or controller method as the task handler of `target` (found at bootstrap by TasksModule). The
 * method gets the task's input and a TaskContext; what it returns is the task's result. Upstream peers can still
 * plain-invoke `target`: the call submits a task and answers with its result.
 *
 * @example
 * @Task('report.build', { concurrency: 2, timeout: 60_000, maxAttempts: 3 })
 * async build(input: { quarter: string }, ctx: TaskContext) {
 *   await ctx.status('collecting');
 *   return { quarter: input.quarter };
 * }
 */
export function Task(target: string, options: TaskHandlerOptions = {}): MethodDecorator {
  return handlerDecorator(TASK_HANDLER_METADATA, 'task', target, options);
}
