import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { JetStreamTaskStoreOptions } from './jetstream-task-store.js';
import type { MemoryTaskStoreOptions } from './memory-task-store.js';

export interface TasksModuleOptions {
  /** Where tasks live: `memory` (this process; the default) or `jetstream` (the bus's NATS connection, durable). */
  store?: 'memory' | 'jetstream';
  /** TTL of ended tasks and the caps of the memory store. */
  memory?: MemoryTaskStoreOptions;
  /** Bucket and stream names, ack wait, retention and replicas of the JetStream store. */
  jetstream?: JetStreamTaskStoreOptions;
  /** Run this process's `@Task` handlers. Default true (false: a process that only submits and follows). */
  workers?: boolean;
  /** Serve each `@Task` target as a plain invoke too (upstream peers call it and get the result). Default true. */
  invokeAdapter?: boolean;
}

export const {
  ConfigurableModuleClass: TasksConfigurableModule,
  MODULE_OPTIONS_TOKEN: TASKS_MODULE_OPTIONS,
  OPTIONS_TYPE: TASKS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: TASKS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<TasksModuleOptions>({ moduleName: 'Tasks' }).setClassMethodName('forRoot').build();
