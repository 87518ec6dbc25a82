import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { BusServer } from '@openagentio/nestjs';
import { AppModule } from './app.module.js';
import { configureDemoApp } from './configure-app.js';
import { startTelemetry } from './observability/telemetry.js';

async function bootstrap(): Promise<void> {
  // OpenTelemetry first: the metrics API binds instruments when the bus is created (docs/observability.md).
  await startTelemetry();
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  app.enableShutdownHooks();
  await configureDemoApp(app);
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  // The console is mounted with the router role (src/app.module.ts).
  const consoleUrl = (process.env.AGENTS ?? 'router').includes('router') ? ` (the console: http://localhost:${port}/console)` : '';
  const bus = app.get(BusServer).unwrap<{ transport: { kind: string } }>();
  new Logger('Demo').log(
    `ready: http://localhost:${port} (bus on ${bus.transport.kind}); open it in a browser${consoleUrl}, or try: curl -s -XPOST localhost:${port}/demo/ask -H 'content-type: application/json' -d '{"text":"NATS is fast"}'`,
  );
}

void bootstrap();
