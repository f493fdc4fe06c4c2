// Login latency with and without "new sign-in" notices (one job enqueue per login), in-process
// (app.inject, no HTTP), on real Postgres + Redis when TEST_PG_ADMIN_URL/TEST_REDIS_URL are set.
// Short on purpose: 4 logins in flight, a few seconds per mode, modes alternated three times.
// Run: TEST_PG_ADMIN_URL=… TEST_REDIS_URL=… node_modules/.bin/node bench/signInNotices.ts
import { ADMIN_PASSWORD } from '../test/support/app.ts';
import { TestBrowser } from '../test/support/browser.ts';
import { createWorkerTestApp } from '../test/worker/harness.ts';

const LOGINS = 40;
const IN_FLIGHT = 4;

async function measure(withNotices: boolean): Promise<number> {
  const t = await createWorkerTestApp({ GATEHOUSE_EMAIL__SIGN_IN_NOTICES: String(withNotices) }, { runJobs: false });
  try {
    await new TestBrowser(t.app).login('akadmin', ADMIN_PASSWORD);
    const started = performance.now();
    let left = LOGINS;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (left-- > 0) {
          const res = await new TestBrowser(t.app).login('akadmin', ADMIN_PASSWORD);
          if (res.component !== 'xak-flow-redirect') throw new Error(`login failed: ${JSON.stringify(res)}`);
        }
      }),
    );
    return LOGINS / ((performance.now() - started) / 1000);
  } finally {
    await t.close();
  }
}

const rounds: Array<{ with_notices: number; without: number }> = [];
for (let i = 0; i < 3; i++) rounds.push({ without: await measure(false), with_notices: await measure(true) });
const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;
process.stdout.write(
  `${JSON.stringify({ logins_per_s_without: mean(rounds.map((r) => r.without)), logins_per_s_with_notices: mean(rounds.map((r) => r.with_notices)), rounds })}\n`,
);
