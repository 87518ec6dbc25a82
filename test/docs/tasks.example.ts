import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BusClient, BusModule, Task, TaskClient, TaskContext, TasksModule } from '@openagentio/nestjs';

@Injectable()
export class ReportWorker {
  @Task('report.build', { concurrency: 2, timeout: 60_000, maxAttempts: 3 })
  async build(input: { quarter?: string }, ctx: TaskContext) {
    const quarter = input.quarter ?? (ctx.lastInput as string | undefined);
    if (!quarter) return ctx.inputRequired('Which quarter?'); // no process waits for the answer
    await ctx.status(`collecting ${quarter}`);
    await ctx.artifact({ artifact_id: 'report', name: 'report.md', data: `# ${quarter}\n` });
    await ctx.artifact({ artifact_id: 'report', data: 'Revenue is up.\n', append: true, last_chunk: true });
    return { quarter, pages: 1 };
  }
}

@Module({
  imports: [BusModule.forRoot({ agentId: 'reports' }), TasksModule.forRoot({ store: 'memory' })],
  providers: [ReportWorker],
})
export class ReportsModule {}

export async function main(): Promise<{ frames: string[]; result: unknown; viaInvoke: unknown }> {
  const app = await NestFactory.createApplicationContext(ReportsModule, { logger: ['error', 'warn'] });
  await app.init();
  const tasks = app.get(TaskClient);
  const task = await tasks.submit('report.build', {}, { context_id: 'ctx-42', session_id: 's1' });
  const paused = await tasks.wait(task.id, { orPause: true }); // input-required: "Which quarter?"
  await tasks.send(task.id, paused.status_message === 'Which quarter?' ? 'Q3' : 'Q1');
  const frames: string[] = [];
  for await (const frame of tasks.follow(task.id)) frames.push(`${frame.seq} ${frame.event_type}`);
  const done = await tasks.wait(task.id);
  // An upstream agent (or any caller) can still plain-invoke the task target and wait for the result.
  const viaInvoke = await app.get(BusClient).invoke('report.build', { quarter: 'Q4' });
  await app.close();
  return { frames, result: done.result, viaInvoke };
}
