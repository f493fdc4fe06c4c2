// deploy/grafana/gatehouse-dashboard.json as Grafana imports it: a stable uid, a data source and
// an instance variable, and every query filtered by the instances chosen. That every metric it
// queries exists is checked against real processes in test/e2e/metrics.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
}
const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/gatehouse-dashboard.json', import.meta.url), 'utf8')) as {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query: unknown; datasource?: { uid: string }; includeAll?: boolean }[] };
  panels: Panel[];
};
// Grafana's variable syntax (not a template literal): the data source the importer picks.
const DATASOURCE = `$${'{datasource}'}`;
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');

test('the dashboard has a stable uid and title, and variables for the data source and the instances', () => {
  assert.equal(dashboard.uid, 'gatehouse-overview');
  assert.equal(dashboard.title, 'Gatehouse');
  assert.ok(dashboard.schemaVersion >= 36);
  const [datasource, instance] = dashboard.templating.list;
  assert.deepEqual([datasource?.name, datasource?.type, datasource?.query], ['datasource', 'datasource', 'prometheus']);
  assert.equal(instance?.name, 'instance');
  assert.equal(instance?.datasource?.uid, DATASOURCE);
  assert.ok(instance?.includeAll);
  assert.match(JSON.stringify(instance?.query), /label_values\(gatehouse_info, instance\)/);
});

test('every panel queries the chosen data source and instances, and sits on the 24-column grid without overlap', () => {
  assert.ok(queryPanels.length >= 15, `${queryPanels.length} panels`);
  const ids = new Set(dashboard.panels.map((p) => p.id));
  assert.equal(ids.size, dashboard.panels.length, 'unique panel ids');
  const taken = new Set<string>();
  for (const panel of dashboard.panels) {
    const { x, y, w, h } = panel.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24, `${panel.title}: within the grid`);
    for (let row = y; row < y + h; row++) {
      for (let col = x; col < x + w; col++) {
        assert.ok(!taken.has(`${row}:${col}`), `${panel.title} overlaps another panel`);
        taken.add(`${row}:${col}`);
      }
    }
  }
  for (const panel of queryPanels) {
    assert.equal(panel.datasource?.uid, DATASOURCE, panel.title);
    assert.ok(panel.targets?.length, `${panel.title} has a query`);
    for (const target of panel.targets ?? []) {
      assert.equal(target.datasource?.uid, DATASOURCE, panel.title);
      assert.match(target.expr, /instance=~"\$instance"/, `${panel.title}: ${target.expr}`);
      assert.equal((target.expr.match(/\(/g) ?? []).length, (target.expr.match(/\)/g) ?? []).length, `${panel.title}: balanced parentheses`);
    }
  }
});
