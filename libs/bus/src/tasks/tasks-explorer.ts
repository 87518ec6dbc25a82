import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { BusClient } from '../bus/bus-client.js';
import type { BusSubscription } from '../interfaces/bus-subscription.interface.js';
import { TaskClient } from './task-client.js';
import { TaskEngine } from './task-engine.js';
import { TASK_HANDLER_METADATA, type TaskHandlerMetadata } from './task.decorator.js';
import { serveTaskAsInvoke } from './task-invoke-adapter.js';
import { TaskWorker } from './task-worker.js';
import { TASKS_MODULE_OPTIONS, type TasksModuleOptions } from './tasks-module-definition.js';

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
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      for (const name of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance))) {
        const method = instance[name] as ((...args: unknown[]) => unknown) | undefined;
        const meta = method && (Reflect.getMetadata(TASK_HANDLER_METADATA, method) as TaskHandlerMetadata | undefined);
        if (!meta) continue;
        if (seen.has(meta.target)) throw new Error(`@Task('${meta.target}') is declared twice (${wrapper.name}.${name})`);
        seen.add(meta.target);
        const worker = new TaskWorker(this.engine, this.bus, meta.target, (input, ctx) => method.call(instance, input, ctx), meta.options);
        await worker.start();
        this.workers.push(worker);
        if (this.options.invokeAdapter !== false) {
          const sub = serveTaskAsInvoke(this.bus, this.tasks, meta.target);
          await sub.ready;
          this.adapters.push(sub);
        }
        this.logger.log(`task handler ${meta.target} (${wrapper.name}.${name}) on the ${this.engine.store.kind} store`);
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    for (const a of this.adapters.splice(0)) a.unsubscribe();
    for (const w of this.workers.splice(0)) await w.stop();
    await this.engine.store.close();
  }
}
