import { Controller } from '@nestjs/common';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { BusSession, Invoke, Payload, Signal } from '@openagentio/nestjs';

export class AnalyzeRequest {
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  text!: string;

  @IsOptional()
  @IsString()
  aspect?: string;
}

/** Worker agents: small, pure analyses a router can call one by one or in parallel. Each says the session and trace it saw. */
@Controller()
export class WorkerAgent {
  constructor(private readonly session: BusSession) {}

  @Invoke('worker.keywords')
  keywords(@Payload() req: AnalyzeRequest) {
    const words = req.text.toLowerCase().match(/[a-z\u00c0-\u024f]{4,}/g) ?? [];
    const counts = new Map<string, number>();
    for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
    const top = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 5)
      .map(([w]) => w);
    return { agent: 'worker.keywords', keywords: top, seen_session: this.session.sessionId, seen_trace: this.session.trace?.trace_id };
  }

  @Invoke('worker.sentiment')
  async sentiment(@Payload() req: AnalyzeRequest, @Signal() signal: AbortSignal) {
    // A little latency, so the router's parallel fan-out is visible in the timings.
    await new Promise((resolve, reject) => {
      const t = setTimeout(resolve, 20);
      signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
    });
    const positive = (req.text.match(/\b(good|great|fast|love|nice|happy)\b/gi) ?? []).length;
    const negative = (req.text.match(/\b(bad|slow|hate|broken|sad)\b/gi) ?? []).length;
    const label = positive > negative ? 'positive' : negative > positive ? 'negative' : 'neutral';
    return { agent: 'worker.sentiment', label, seen_session: this.session.sessionId, seen_trace: this.session.trace?.trace_id };
  }

  @Invoke('worker.summarize')
  summarize(@Payload() req: AnalyzeRequest) {
    const first = req.text.split(/(?<=[.!?])\s+/)[0] ?? req.text;
    return {
      agent: 'worker.summarize',
      summary: first.slice(0, 120),
      seen_session: this.session.sessionId,
      seen_trace: this.session.trace?.trace_id,
    };
  }
}
