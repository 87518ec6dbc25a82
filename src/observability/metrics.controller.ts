import { Controller, Get, Inject, Optional, Req, Res } from '@nestjs/common';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { currentTelemetry } from './telemetry.js';

/** Provider token of the PrometheusExporter `GET /metrics` serves (default: the one `startTelemetry` made). */
export const PROMETHEUS_EXPORTER = Symbol('PROMETHEUS_EXPORTER');

/**
 * `GET /metrics`: the Prometheus text exposition of every OpenTelemetry metric of this process (the bus's
 * `acp_bus_*` among them), through the exporter's own request handler. 503 when telemetry was not started.
 */
@Controller()
export class MetricsController {
  constructor(@Optional() @Inject(PROMETHEUS_EXPORTER) private readonly exporter?: PrometheusExporter | null) {}

  @Get('metrics')
  metrics(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    const exporter = this.exporter ?? currentTelemetry()?.prometheus;
    if (!exporter) {
      res.statusCode = 503;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end('# telemetry is not started (call startTelemetry() before creating the application)\n');
      return;
    }
    exporter.getMetricsRequestHandler(req, res);
  }
}
