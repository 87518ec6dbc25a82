import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { BusClient } from '../bus/bus-client.js';
import type { BusSubscription } from '../interfaces/bus-subscription.interface.js';
import { TaskClient } from './task-client.js';
import { TaskEngine } from './task-engine.js';
import { TASK_HANDLER_METADATA } from '../constants.js';
import { decoratedMethods } from '../server/handler-explorer.js';
import type { TaskHandlerMetadata } from './task.decorator.js';
import { serveTaskAsInvoke } from './task-invoke-adapter.js';
import { TaskWorker } from './task-worker.js';
import { TASKS_MODULE_OPTIONS, type TasksModuleOptions } from './tasks.module-definition.js';

/** Finds `@Task` methods at bootstrap and runs a worker (and the plain-invoke adapter) for each target. */
@Injectable()
export class TasksExplorer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Tasks');
  readonly workers: TaskWorker[] = [];
  private readonly adapters: BusSubscription[] = [];

  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
    @Inject(TaskEngine) private readonly engine: TaskEngine,
    @Inject(TaskClient) private readonly tasks: TaskClient,
    @Inject(BusClient) private readonly bus: BusClient,
    @Inject(TASKS_MODULE_OPTIONS) private readonly options: TasksModuleOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.workers === false) return;
    const seen = new Set<string>();
    const found = decoratedMethods<TaskHandlerMetadata>(this.discovery, this.scanner, TASK_HANDLER_METADATA, () => 'Task');
    for (const { instance, className, methodName, method, meta } of found) {
      if (seen.has(meta.name)) throw new Error(`@Task('${meta.name}') is declared twice (${className}.${methodName})`);
      seen.add(meta.name);
      const worker = new TaskWorker(this.engine, this.bus, meta.name, (input, ctx) => method.call(instance, input, ctx), meta.options);
      await worker.start();
      this.workers.push(worker);
      if (this.options.invokeAdapter !== false) {
        const sub = serveTaskAsInvoke(this.bus, this.tasks, meta.name);
        await sub.ready;
        this.adapters.push(sub);
      }
      this.logger.log(`task handler ${meta.name} (${className}.${methodName}) on the ${this.engine.store.kind} store`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    for (const a of this.adapters.splice(0)) a.unsubscribe();
    for (const w of this.workers.splice(0)) await w.stop();
    await this.engine.store.close();
  }
}
