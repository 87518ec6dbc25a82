import { SetMetadata } from '@nestjs/common';
import type { TaskHandlerOptions } from './task-worker.js';

export const TASK_HANDLER_METADATA = 'openagentio:task-handler';

export interface TaskHandlerMetadata {
  target: string;
  options: TaskHandlerOptions;
}

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
  return SetMetadata<string, TaskHandlerMetadata>(TASK_HANDLER_METADATA, { target, options });
}
