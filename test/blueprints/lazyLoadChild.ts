// Run by lazyLoad.test.ts in a process of its own: a start on a database whose default
// blueprints and folder files are already applied. Prints which blueprint modules it loaded.
import { registerHooks } from 'node:module';

const loaded: string[] = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    loaded.push(resolved.url);
    return resolved;
  },
});
const isBlueprintMachinery = (url: string) => /\/node_modules\/yaml\/|\/src\/blueprints\/(engine|document|instances|export)\.ts$/.test(url);

const [target, folder] = process.argv.slice(2) as [string, string];
const { openPglite, openPostgres } = await import('../../src/store/db.ts');
const db = target.startsWith('{') ? openPostgres({ ...JSON.parse(target), ssl: false, poolSize: 2 }) : await openPglite(target);
const pino = (await import('pino')).default;
const { ensureDefaultFlows } = await import('../../src/flows/defaults.ts');
const { watchBlueprintFolder } = await import('../../src/blueprints/folder.ts');
// Only the database: a start with nothing to apply needs nothing else.
const deps = { db } as unknown as import('../../src/core/context.ts').CoreDeps;
const applied = await ensureDefaultFlows(deps);
const watcher = watchBlueprintFolder(deps, { dir: folder, env: {}, logger: pino({ level: 'silent' }), intervalMs: 60_000 });
await watcher.runOnce();
await watcher.stop();
const afterStart = loaded.filter(isBlueprintMachinery);
await import('../../src/blueprints/document.ts');
const control = loaded.some((url) => url.includes('/node_modules/yaml/'));
await db.close();
process.stdout.write(JSON.stringify({ applied, afterStart, control }));
