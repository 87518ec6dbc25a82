import type { AsyncMicroserviceOptions } from '@nestjs/microservices';
import { BusServer } from './bus-server.js';

/**
 * Options for `NestFactory.createMicroservice` that run a bus-only app on the module's BusServer.
 *
 * @example
 * const app = await NestFactory.createMicroservice(AppModule, busMicroservice());
 * await app.listen();
 */
export function busMicroservice(): AsyncMicroserviceOptions {
  return { useFactory: (server: BusServer) => ({ strategy: server }), inject: [BusServer] };
}
