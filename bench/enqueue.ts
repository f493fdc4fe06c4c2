// What the login path pays for a "new sign-in" notice: one enqueue. Sequential latency and
// throughput with 16 in flight, on real Postgres (graphile-worker add_job) when TEST_PG_ADMIN_URL
// is set, else on PGlite (the jobs table). Run: node_modules/.bin/node bench/enqueue.ts
import pino from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { openJobQueue } from '../src/worker/jobQueue.ts';
import { createMigratedDatabase } from '../test/support/backends.ts';
const database = await createMigratedDatabase();
const config = loadConfig({ GATEHOUSE_EMAIL__HOST: '127.0.0.1' }, null);
const queue = await openJobQueue(config, database.db, pino({ level: 'silent' }), { install: true });
const payload = { userId: 1, clientIp: '127.0.0.1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0', method: 'password', at: new Date().toISOString() };
for (let i = 0; i < 200; i++) await queue.enqueue('send_sign_in_notice', payload);
const n = 2000;
let t0 = performance.now();
for (let i = 0; i < n; i++) await queue.enqueue('send_sign_in_notice', payload);
const seq = (performance.now() - t0) / n;
t0 = performance.now();
await Promise.all(Array.from({ length: 16 }, async () => { for (let i = 0; i < n / 16; i++) await queue.enqueue('send_sign_in_notice', payload); }));
const par = (performance.now() - t0);
console.log(JSON.stringify({ kind: database.db.kind, sequential_ms_per_enqueue: +seq.toFixed(3), enqueues_per_s_16_in_flight: Math.round(n / (par / 1000)) }));
await database.drop();
