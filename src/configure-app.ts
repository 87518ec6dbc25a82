import { fileURLToPath } from 'node:url';
import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { BusErrorHttpFilter, BusServer } from '@openagentio/nestjs';

/**
 * Everything main.ts does to the demo app before it listens, in one place so the tests boot exactly the same app.
 * Resolves once the bus serves every handler.
 */
export async function configureDemoApp(app: NestExpressApplication): Promise<void> {
  // The demo page (no build step): dist/src/*.js serves src/public.
  app.useStaticAssets(fileURLToPath(new URL('../../src/public', import.meta.url)));
  app.useGlobalPipes(new ValidationPipe({ transform: true }));
  app.useGlobalFilters(new BusErrorHttpFilter());
  // The bus serves @Invoke/@Stream/@Subscribe handlers; inheritAppConfig applies the global pipe to them too.
  app.connectMicroservice({ strategy: app.get(BusServer) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
}
