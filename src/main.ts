import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { Logger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { BusErrorHttpFilter, BusServer } from '../libs/bus/src/index.js';
import { AppModule } from './app.module.js';
import { startTelemetry } from './observability/telemetry.js';

async function bootstrap(): Promise<void> {
  // OpenTelemetry first: the metrics API binds instruments when the bus is created (docs/observability.md).
  await startTelemetry();
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  // The demo page (no build step): dist/src/main.js serves src/public.
  app.useStaticAssets(fileURLToPath(new URL('../../src/public', import.meta.url)));
  app.useGlobalPipes(new ValidationPipe({ transform: true }));
  app.useGlobalFilters(new BusErrorHttpFilter());
  app.enableShutdownHooks();
  // The bus serves @Invoke/@Stream/@Subscribe handlers; inheritAppConfig applies the global pipe to them too.
  app.connectMicroservice({ strategy: app.get(BusServer) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  const bus = app.get(BusServer).unwrap<{ transport: { kind: string } }>();
  new Logger('Demo').log(
    `ready: http://localhost:${port} (bus on ${bus.transport.kind}); open it in a browser, or try: curl -s -XPOST localhost:${port}/demo/ask -H 'content-type: application/json' -d '{"text":"NATS is fast"}'`,
  );
}

void bootstrap();
