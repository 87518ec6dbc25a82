import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BusClient, BusModule, BusSession, Invoke, Payload, Signal, Stream, busMicroservice } from '@openagentio/nestjs';

@Controller()
export class WeatherAgent {
  constructor(
    private readonly bus: BusClient,
    private readonly session: BusSession,
  ) {}

  @Invoke('weather.now')
  now(@Payload() q: { city: string }) {
    return { city: q.city, celsius: 21, session: this.session.sessionId };
  }

  @Stream('weather.report')
  async *report(@Payload() q: { city: string }, @Signal() signal: AbortSignal) {
    const now = await this.bus.invoke<{ celsius: number }>('weather.now', q); // same session, less time
    for (const word of `It is ${now.celsius} degrees in ${q.city}.`.split(' ')) {
      if (signal.aborted) return;
      yield word + ' ';
    }
    return { celsius: now.celsius };
  }
}

@Module({ imports: [BusModule.forRoot({ agentId: 'weather' })], controllers: [WeatherAgent] })
export class WeatherModule {}

export async function main(): Promise<string> {
  const app = await NestFactory.createMicroservice(WeatherModule, busMicroservice());
  await app.listen();
  const bus = app.get(BusClient);
  const text = await bus.stream('weather.report', { city: 'Oslo' }, { session_id: 's1' }).text();
  await app.close();
  return text; // "It is 21 degrees in Oslo. "
}
