// Async tasks (docs/tasks.md): durable, cancellable, resumable agent work, in memory or on JetStream.
export * from './task.types.js';
export * from './task-store.interface.js';
export { MemoryTaskStore, type MemoryTaskStoreOptions } from './memory-task-store.js';
export { JetStreamTaskStore, type JetStreamTaskStoreOptions } from './jetstream-task-store.js';
export { TaskEngine } from './task-engine.js';
export { TaskClient, type SubmitOptions } from './task-client.js';
export { TaskContext, TaskPause } from './task-context.js';
export { TaskWorker, type TaskHandler, type TaskHandlerOptions } from './task-worker.js';
export { Task, TASK_HANDLER_METADATA, type TaskHandlerMetadata } from './task.decorator.js';
export { serveTaskAsInvoke } from './task-invoke-adapter.js';
export { createTaskStore } from './task-store.factory.js';
export { TasksModule, TASK_STORE } from './tasks.module.js';
export { TASKS_MODULE_OPTIONS, type TasksModuleOptions } from './tasks-module-definition.js';
