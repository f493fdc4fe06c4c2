import { createServer, type Server } from 'node:http';
import { Gauge } from 'prom-client';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.ts';
import type { ListenAddress } from '../config/schema.ts';
import { createPrometheusMetrics, type PrometheusMetrics } from './registry.ts';

export interface MetricsListener {
  metrics: PrometheusMetrics;
  port: number;
  close(): Promise<void>;
}

/**
 * GET /metrics on its own listener (GATEHOUSE_LISTEN__METRICS), never on the public port: the
 * numbers say how busy the server is and which flows fail, and need no authentication as long as
 * only Prometheus can reach them. Plain node:http: one path, nothing to parse.
 */
export async function startMetricsListener(address: ListenAddress, logger: Logger, command: string): Promise<MetricsListener> {
  const metrics = createPrometheusMetrics();
  // Which command this process runs: dashboards list instances by it.
  const info = new Gauge({
    name: 'gatehouse_info',
    help: 'Always 1; the command this process runs (all, server, worker, ldap).',
    labelNames: ['command'],
    registers: [metrics.registry],
  });
  info.set({ command }, 1);
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: metrics are at GET /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).end(request.method === 'HEAD' ? undefined : text),
      (error) => {
        logger.error({ err: error }, 'metrics_collect_failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n');
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  await listen(server, address);
  const port = (server.address() as { port: number }).port;
  logger.info({ host: address.host, port }, 'metrics_listening');
  return {
    metrics,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, { host, port }: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      if (error.code === 'EADDRINUSE') {
        reject(new ConfigError(`GATEHOUSE_LISTEN__METRICS: ${where} is already in use (another Gatehouse process?); choose another HOST:PORT, or off to serve no metrics`));
      } else if (error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') {
        reject(new ConfigError(`GATEHOUSE_LISTEN__METRICS: cannot listen on ${where} (${error.code}); choose another HOST:PORT, or off to serve no metrics`));
      } else reject(error);
    });
    server.listen(port, host, () => resolve());
  });
}
