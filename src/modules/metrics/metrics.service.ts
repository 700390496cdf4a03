import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of this process. One registry per application instance (not prom-client's global
 * one), so several apps in one process (tests) do not collide. Modules record into the shared metrics
 * below or register their own on `registry`.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method and route.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly wsConnections = new Gauge({
    name: 'ws_connections',
    help: 'Open socket.io connections by namespace.',
    labelNames: ['namespace'] as const,
    registers: [this.registry],
  });

  readonly wsMessages = new Counter({
    name: 'ws_messages_total',
    help: 'socket.io messages received by namespace and event.',
    labelNames: ['namespace', 'event'] as const,
    registers: [this.registry],
  });

  readonly inferenceDuration = new Histogram({
    name: 'inference_duration_seconds',
    help: 'Model inference time by model.',
    labelNames: ['model'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
