import type { Logger } from 'pino';
import { BindCache } from './bind.ts';
import { type CoreClient, CoreUnavailable } from './coreClient.ts';
import { buildTree, type DirectoryTree } from './directory.ts';
import { isUnder, normalizeDn } from './dn.ts';
import type { Directory } from './wire.ts';

// One outpost's view of the core: its providers and a copy of the directory, kept fresh by
// polling a cheap version string (a change reaches searches within about half a second). When
// the core cannot be reached the last copy keeps serving cached searches, and polling goes on
// (backing off) until the core answers again.

const POLL_MS = 500;
const MAX_BACKOFF_MS = 5_000;
// Cached binds are reported to the core (as login events) at most this often.
const REPORT_MS = 10_000;
const MAX_TALLIED = 10_000;

export class LdapOutpost {
  readonly client: CoreClient;
  readonly bindCache: BindCache;
  private readonly logger: Logger;
  private version: string | null = null;
  private treeList: DirectoryTree[] = [];
  private timer: NodeJS.Timeout | null = null;
  private isStopped = false;
  private failures = 0;
  private refreshing: Promise<void> | null = null;
  /** Cached binds not yet reported: provider → "user|ip" → count. */
  private tally = new Map<number, Map<string, number>>();
  private lastReport = Date.now();
  isCoreReachable = false;

  private readonly reportEveryMs: number;

  constructor(client: CoreClient, logger: Logger, bindCacheSeconds: number, options: { reportEveryMs?: number } = {}) {
    this.reportEveryMs = options.reportEveryMs ?? REPORT_MS;
    this.client = client;
    this.logger = logger;
    this.bindCache = new BindCache(bindCacheSeconds);
  }

  get trees(): DirectoryTree[] {
    return this.treeList;
  }

  /** Whether the first copy of the directory has arrived (before it, no DN is known). */
  get hasDirectory(): boolean {
    return this.version !== null;
  }

  /** The provider whose base DN holds `dn` (the longest match when bases nest). */
  treeFor(dn: string): DirectoryTree | null {
    const normalized = normalizeDn(dn);
    if (normalized === null) return null;
    let best: DirectoryTree | null = null;
    for (const tree of this.treeList) {
      if (isUnder(normalized, tree.normalizedBase) && (!best || tree.normalizedBase.length > best.normalizedBase.length)) best = tree;
    }
    return best;
  }

  start(): Promise<void> {
    const first = this.refresh().catch(() => undefined);
    const loop = async () => {
      if (this.isStopped) return;
      await this.refresh().catch(() => undefined);
      if (this.isStopped) return;
      const delay = this.failures === 0 ? POLL_MS : Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** Math.min(this.failures, 4));
      this.timer = setTimeout(loop, delay);
      this.timer.unref();
    };
    first.then(() => {
      if (!this.isStopped) {
        this.timer = setTimeout(loop, POLL_MS);
        this.timer.unref();
      }
    });
    return first;
  }

  stop(): void {
    this.isStopped = true;
    if (this.timer) clearTimeout(this.timer);
    void this.reportCachedBinds().catch(() => undefined);
  }

  noteCachedBind(providerPk: number, userPk: number, clientIp: string): void {
    const counts = this.tally.get(providerPk) ?? new Map<string, number>();
    this.tally.set(providerPk, counts);
    const key = `${userPk}|${clientIp}`;
    // Bounded while the core is away: past the limit only known keys keep counting.
    if (counts.has(key) || counts.size < MAX_TALLIED) counts.set(key, (counts.get(key) ?? 0) + 1);
  }

  private async reportCachedBinds(): Promise<void> {
    this.lastReport = Date.now();
    for (const [providerPk, counts] of this.tally) {
      if (counts.size === 0) continue;
      const binds = [...counts].slice(0, 1000).map(([key, count]) => {
        const [user, clientIp] = key.split('|');
        return { user: Number(user), client_ip: clientIp ?? '', count };
      });
      await this.client.reportCachedBinds(providerPk, binds);
      for (const { user, client_ip } of binds) counts.delete(`${user}|${client_ip}`);
    }
  }

  /** Checks the version and reloads on change; concurrent callers share one check. */
  refresh(): Promise<void> {
    this.refreshing ??= this.checkVersion().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async checkVersion(): Promise<void> {
    try {
      const version = await this.client.directoryVersion();
      if (Date.now() - this.lastReport >= this.reportEveryMs) await this.reportCachedBinds();
      if (version !== this.version) await this.reload();
      if (!this.isCoreReachable || this.failures > 0) this.logger.info({ core: this.client.host }, 'ldap_core_connected');
      this.isCoreReachable = true;
      this.failures = 0;
    } catch (error) {
      if (this.failures === 0) this.logger.warn({ err: (error as Error).message, core: this.client.host }, 'ldap_core_unreachable');
      this.failures += 1;
      this.isCoreReachable = false;
      throw error instanceof CoreUnavailable ? error : new CoreUnavailable((error as Error).message);
    }
  }

  /**
   * The settings and the directory come from two requests: a change between them (a provider
   * taken off and put back) could pair one's old answer with the other's new version, and the
   * outpost would then keep a stale tree under a current version until the next change. Taken
   * only when the directory was built for the settings fetched with it; else asked again, and
   * after a third miss left to the next poll (the version still differs, so it tries again).
   */
  private async reload(): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [providers, directory] = await Promise.all([this.client.providers(), this.client.directory()]);
      const isMatched = directory.config_version === undefined || providers.version === undefined || directory.config_version === providers.version;
      if (isMatched) return this.load(providers.results, directory);
    }
    this.logger.warn('ldap_directory_unsettled');
  }

  private load(providers: Parameters<typeof buildTree>[0][], directory: Directory): void {
    const hadVersion = this.version !== null;
    this.treeList = providers.filter((p) => normalizeDn(p.base_dn) !== null).map((p) => buildTree(p, directory));
    this.version = directory.version;
    // A password or status may have changed: remembered binds must prove themselves again.
    if (hadVersion) this.bindCache.clear();
    this.logger.info({ providers: providers.length, users: directory.users.length, groups: directory.groups.length }, 'ldap_directory_loaded');
  }
}
