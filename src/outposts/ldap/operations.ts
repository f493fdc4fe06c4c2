import type { Metrics } from '../../metrics/metrics.ts';
import { bindThroughCore } from './bind.ts';
import { findBindTarget } from './bindTarget.ts';
import { CoreUnavailable } from './coreClient.ts';
import type { DirectoryTree } from './directory.ts';
import type { LdapOutpost } from './outpost.ts';
import {
  bindResponse,
  decodePagedControl,
  extendedResponse,
  type Message,
  OID,
  pagedControl,
  ResultCode,
  resultMessage,
  searchDone,
  searchEntry,
  searchEntryEncoded,
} from './protocol.ts';
import { rootDse, rootDseMatches, runCompare, runSearch, selectAttributes, selectEncoded } from './search.ts';
import { isSubschemaDn, SUBSCHEMA_DN, subschemaAttributes, subschemaMatches } from './subschema.ts';

// What each operation does, given who the connection is bound as. The connection hands in
// decoded messages and a way to write; this decides the answers.

export interface SessionState {
  bound: { outpost: LdapOutpost; providerPk: number; userPk: number; dn: string } | null;
  isTls: boolean;
  clientIp: string;
}

export interface OperationContext {
  outposts: LdapOutpost[];
  write: (data: Buffer) => void;
  /** Resolves once the client has taken what was written (so a slow reader bounds our buffers). */
  drained: () => Promise<void>;
  canStartTls: () => boolean;
  /** Where binds and searches are counted (absent: metrics off). */
  metrics?: Pick<Metrics, 'ldapRequest'>;
}

export type Outcome = 'continue' | 'close' | 'starttls';

const RESULT_NAMES = new Map<number, string>(Object.entries(ResultCode).map(([name, code]) => [code, name]));

/** Counts one bind or search by its LDAP result, and how long the answer took. */
function observe(ctx: OperationContext, type: 'bind' | 'search', code: number, started: number): void {
  ctx.metrics?.ldapRequest(type, RESULT_NAMES.get(code) ?? 'other', (performance.now() - started) / 1000);
}

async function bind(message: Message & { request: { op: 'bind' } }, state: SessionState, ctx: OperationContext): Promise<Outcome> {
  const started = performance.now();
  const { code, message: text } = await decideBind(message, state, ctx);
  observe(ctx, 'bind', code, started);
  return reply(ctx, bindResponse(message.id, code, text));
}

type BindAnswer = { code: number; message?: string };

async function decideBind(message: Message & { request: { op: 'bind' } }, state: SessionState, ctx: OperationContext): Promise<BindAnswer> {
  const { request } = message;
  state.bound = null;
  if (request.version !== 3) return { code: ResultCode.protocolError, message: 'Only LDAPv3 is supported.' };
  if (request.isSasl) return { code: ResultCode.authMethodNotSupported, message: 'Only simple binds are supported.' };
  const password = (request.password as Buffer).toString('utf8');
  if (request.name === '' && password === '') {
    return { code: ResultCode.inappropriateAuthentication, message: 'Anonymous binds are not allowed.' };
  }
  // RFC 4513 §5.1.2: a name with no password is an unauthenticated bind; refuse it.
  if (password === '') return { code: ResultCode.unwillingToPerform, message: 'Unauthenticated binds are not allowed.' };
  const target = findBindTarget(ctx.outposts, request.name);
  if (!target) {
    // Before an outpost has its first copy of the directory, the DN may be one it has not seen
    // yet: "unavailable" tells the client to try again, where "invalid credentials" would be a lie.
    if (ctx.outposts.some((o) => !o.hasDirectory)) {
      return { code: ResultCode.unavailable, message: 'The directory is still loading.' };
    }
    return { code: ResultCode.invalidCredentials, message: 'Invalid credentials.' };
  }
  const login = { username: target.username, password, clientIp: state.clientIp };
  const outcome = await bindThroughCore(target.outpost.client, target.tree, target.outpost.bindCache, login, (userPk) =>
    target.outpost.noteCachedBind(target.tree.provider.pk, userPk, state.clientIp),
  );
  if (outcome.code === ResultCode.success && outcome.userPk !== undefined) {
    // A user created moments ago may not be in our copy yet.
    if (!target.tree.usersByPk.has(outcome.userPk)) await target.outpost.refresh().catch(() => undefined);
    const tree = target.outpost.treeFor(request.name) ?? target.tree;
    const dn = tree.userDnByPk.get(outcome.userPk) ?? request.name;
    state.bound = { outpost: target.outpost, providerPk: tree.provider.pk, userPk: outcome.userPk, dn };
  }
  return { code: outcome.code, message: outcome.message };
}

function reply(ctx: OperationContext, data: Buffer, outcome: Outcome = 'continue'): Outcome {
  ctx.write(data);
  return outcome;
}

type Reader = { tree: DirectoryTree; userPk: number } | { code: number; message: string };

/**
 * Who reads (searches or compares), in the tree as it is now (asked of the core first in direct
 * search mode). A user disabled or deleted since the bind loses what the bind gave the
 * connection, for every operation that reads: a compare is a search that answers yes or no.
 */
async function boundReader(state: SessionState): Promise<Reader> {
  if (!state.bound) return { code: ResultCode.insufficientAccessRights, message: 'Bind first.' };
  const { outpost, providerPk, userPk } = state.bound;
  let tree = outpost.trees.find((t) => t.provider.pk === providerPk);
  if (tree?.provider.search_mode === 'direct') {
    try {
      await outpost.refresh();
    } catch (error) {
      if (error instanceof CoreUnavailable) return { code: ResultCode.unavailable, message: 'The identity service is unavailable.' };
      throw error;
    }
    tree = outpost.trees.find((t) => t.provider.pk === providerPk);
  }
  if (!tree) return { code: ResultCode.noSuchObject, message: 'No such object.' };
  if (!tree.usersByPk.get(userPk)?.is_active) {
    state.bound = null;
    return { code: ResultCode.insufficientAccessRights, message: 'Bind first.' };
  }
  return { tree, userPk };
}

async function search(message: Message & { request: { op: 'search' } }, state: SessionState, ctx: OperationContext): Promise<Outcome> {
  const { id } = message;
  const started = Date.now();
  const startedAt = performance.now();
  const done = (code: number, text?: string, controls?: Parameters<typeof searchDone>[3]): Outcome => {
    observe(ctx, 'search', code, startedAt);
    return reply(ctx, searchDone(id, code, text, controls));
  };
  const { filter } = message.request;
  if (filter === null) return done(ResultCode.adminLimitExceeded, message.request.filterProblem);
  const q = { ...message.request, filter };
  // Their attributes are all operational: `+` asks for all of them.
  const wanted = q.attributes.includes('+') ? [] : q.attributes;
  if (q.base === '' && q.scope === 0) {
    // The root DSE: readable before binding, so clients can discover StartTLS and paging.
    const contexts = ctx.outposts.flatMap((o) => o.trees.map((t) => t.baseDn));
    if (rootDseMatches(q.filter)) {
      ctx.write(searchEntry(id, '', selectAttributes(rootDse(contexts, { hasSubschemaPointer: !state.bound }), wanted), q.typesOnly));
    }
    return done(ResultCode.success);
  }
  if (isSubschemaDn(q.base)) {
    // Fixed, and naming nothing of the tree: readable before binding too (subschema.ts).
    if (q.scope === 0 && subschemaMatches(q.filter)) {
      ctx.write(searchEntry(id, SUBSCHEMA_DN, selectAttributes(subschemaAttributes, wanted), q.typesOnly));
    }
    return done(ResultCode.success);
  }
  const reader = await boundReader(state);
  if (!('tree' in reader)) return done(reader.code, reader.message);
  const { tree, userPk } = reader;
  const pagedRequest = message.controls.find((c) => c.type === OID.pagedResults);
  const paging = pagedRequest ? decodePagedControl(pagedRequest.value) : null;
  const outcome = runSearch(tree, userPk, q, paging);
  if (!('entries' in outcome)) return done(outcome.code, outcome.message);
  // Entries go out in batches: one write per entry made large result sets syscall-bound.
  let batch: Buffer[] = [];
  for (const entry of outcome.entries) {
    if (q.timeLimit > 0 && Date.now() - started > q.timeLimit * 1000) {
      ctx.write(Buffer.concat(batch));
      return done(ResultCode.timeLimitExceeded, 'Time limit exceeded.');
    }
    batch.push(
      q.typesOnly
        ? searchEntry(id, entry.dn, selectAttributes(entry.attributes, q.attributes), true)
        : searchEntryEncoded(id, entry.encodedDn, selectEncoded(entry, q.attributes)),
    );
    if (batch.length >= 256) {
      ctx.write(Buffer.concat(batch));
      batch = [];
      await ctx.drained();
    }
  }
  if (batch.length) ctx.write(Buffer.concat(batch));
  const controls = outcome.nextCookie ? [pagedControl(outcome.nextCookie)] : [];
  return done(outcome.code, '', controls);
}

function extended(message: Message & { request: { op: 'extended' } }, state: SessionState, ctx: OperationContext): Outcome {
  const { request, id } = message;
  if (request.name === OID.whoAmI) {
    return reply(ctx, extendedResponse(id, ResultCode.success, { value: state.bound ? `dn:${state.bound.dn}` : '' }));
  }
  if (request.name === OID.startTls) {
    if (!ctx.canStartTls()) return reply(ctx, extendedResponse(id, ResultCode.operationsError, { name: OID.startTls, message: 'TLS is not available.' }));
    return reply(ctx, extendedResponse(id, ResultCode.success, { name: OID.startTls }), 'starttls');
  }
  return reply(ctx, extendedResponse(id, ResultCode.protocolError, { message: `Unsupported extended operation ${request.name.slice(0, 100)}.` }));
}

export async function handleMessage(message: Message, state: SessionState, ctx: OperationContext): Promise<Outcome> {
  // RFC 4511 §4.1.11: an unknown critical control must fail the operation.
  const unknownCritical = message.controls.find((c) => c.isCritical && c.type !== OID.pagedResults);
  const request = message.request;
  if (unknownCritical && request.op !== 'unbind' && request.op !== 'abandon') {
    const tag = { bind: 0x61, search: 0x65, extended: 0x78, compare: 0x6f, write: request.op === 'write' ? request.responseTag : 0 }[request.op];
    return reply(ctx, resultMessage(message.id, tag, ResultCode.unavailableCriticalExtension, 'Unsupported critical control.'));
  }
  switch (request.op) {
    case 'bind':
      return bind(message as Message & { request: typeof request }, state, ctx);
    case 'search':
      return search(message as Message & { request: typeof request }, state, ctx);
    case 'extended':
      return extended(message as Message & { request: typeof request }, state, ctx);
    case 'unbind':
      return 'close';
    case 'abandon':
      // Every operation here finishes before the next is read: there is nothing to abandon.
      return 'continue';
    case 'compare': {
      const reader = await boundReader(state);
      if (!('tree' in reader)) return reply(ctx, resultMessage(message.id, 0x6f, reader.code, reader.message));
      return reply(ctx, resultMessage(message.id, 0x6f, runCompare(reader.tree, reader.userPk, request)));
    }
    case 'write':
      return reply(ctx, resultMessage(message.id, request.responseTag, ResultCode.insufficientAccessRights, 'The directory is read-only.'));
  }
}
