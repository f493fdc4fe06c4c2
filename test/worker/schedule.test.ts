import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCrontab } from 'graphile-worker';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { crontabOf } from '../../src/worker/schedule.ts';

test('the crontab sweeps every 10 minutes and backs up nightly by default; "off" turns the backup off', () => {
  const items = parseCrontab(crontabOf(loadConfig({}, null)));
  assert.deepEqual(items.map((i) => i.task), ['sweep', 'backup']);
  const at = (hour: number, min: number) => ({ min, hour, date: 1, month: 1, dow: 1 });
  assert.equal(items[1]?.match(at(3, 30)), true, 'backup at 03:30 UTC');
  assert.equal(items[1]?.match(at(4, 30)), false);
  assert.equal(items[0]?.match(at(7, 20)), true, 'sweep at :20');
  assert.deepEqual(parseCrontab(crontabOf(loadConfig({ GATEHOUSE_BACKUP__SCHEDULE: 'off' }, null))).map((i) => i.task), ['sweep']);
});

test('a schedule that is not a valid cron line stops the start with the variable named', () => {
  assert.throws(() => loadConfig({ GATEHOUSE_BACKUP__SCHEDULE: 'nightly' }, null), /GATEHOUSE_BACKUP__SCHEDULE/);
  assert.throws(() => crontabOf(loadConfig({ GATEHOUSE_BACKUP__SCHEDULE: '99 * * * *' }, null)), (e: unknown) => e instanceof ConfigError && /GATEHOUSE_BACKUP__SCHEDULE/.test(e.message));
});
