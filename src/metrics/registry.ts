import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { forwardAuthMetrics } from './forwardAuth.ts';
import {
  GRANT_TYPES,
  type JobOutcome,
  LOGIN_FAILURE_REASONS,
  type LoginOutcome,
  type Metrics,
} from './metrics.ts';

// The metrics themselves, on a registry of our own (not prom-client's global one, so a test can
// build several). Names follow Authentik's where one exists (authentik_main_request_duration_seconds,
// authentik_outpost_ldap_request_duration_seconds, …) with gatehouse_ in front; process_* and
// nodejs_* are prom-client's standard names, which existing Node.js dashboards know.

const OAUTH_ERROR = /^[a-z_]{1,40}$/;

export interface PrometheusMetrics extends Metrics {
  readonly registry: Registry;
}

export function createPrometheusMetrics(): PrometheusMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requestDuration = new Histogram({
    name: 'gatehouse_main_request_duration_seconds',
    help: 'HTTP requests served by the core, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const logins = new Counter({
    name: 'gatehouse_flows_logins_total',
    help: 'Sign-ins completed (succeeded) or refused (failed) by a flow, by flow slug, deciding stage and failure reason.',
    labelNames: ['flow', 'stage', 'outcome', 'reason'],
    registers,
  });
  const grants = new Counter({
    name: 'gatehouse_providers_oauth2_grants_total',
    help: 'OAuth2/OIDC token endpoint answers, by grant type and outcome (issued, or the OAuth error code).',
    labelNames: ['grant_type', 'outcome'],
    registers,
  });
  const ldapDuration = new Histogram({
    name: 'gatehouse_outpost_ldap_request_duration_seconds',
    help: 'LDAP operations answered by the outpost, by operation type and LDAP result.',
    labelNames: ['type', 'result'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const jobDuration = new Histogram({
    name: 'gatehouse_worker_job_duration_seconds',
    help: 'Background job runs, by task and outcome.',
    labelNames: ['task', 'outcome'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers,
  });

  return {
    registry,
    httpRequest(method, route, status, seconds) {
      requestDuration.observe({ method, route, status: String(status) }, seconds);
    },
    login(flow: string, stage: string, outcome: LoginOutcome, reason: string) {
      const known = outcome === 'failed' ? (LOGIN_FAILURE_REASONS.has(reason) ? reason : 'other') : '';
      logins.inc({ flow, stage, outcome, reason: known });
    },
    forwardAuth: forwardAuthMetrics(registry),
    oauth2Grant(grantType, error) {
      const outcome = error === null ? 'issued' : OAUTH_ERROR.test(error) ? error : 'other';
      grants.inc({ grant_type: GRANT_TYPES.has(grantType) ? grantType : 'other', outcome });
    },
    ldapRequest(type, result, seconds) {
      ldapDuration.observe({ type, result }, seconds);
    },
    job(task: string, outcome: JobOutcome, seconds: number) {
      jobDuration.observe({ task, outcome }, seconds);
    },
  };
}
