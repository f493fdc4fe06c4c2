// oidc-provider 9 ships no type declarations; this covers only what Gatehouse uses.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type AnyObject = Record<string, unknown>;
  export interface AdapterPayload extends AnyObject {
    grantId?: string;
    userCode?: string;
    uid?: string;
    consumed?: unknown;
  }
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }
  export interface KoaContextWithOIDC {
    req: IncomingMessage;
    oidc: {
      session?: { accountId?: string };
      client?: { clientId: string };
      params?: AnyObject;
      route: string;
      result?: { login?: AnyObject; consent?: AnyObject };
    };
  }
  export interface InteractionDetails {
    uid: string;
    prompt: { name: string; reasons: string[]; details: AnyObject };
    params: AnyObject & { client_id?: string; scope?: string };
    session?: { accountId: string };
    grantId?: string;
    /** Set when the interaction serves a device authorization (RFC 8628). */
    deviceCode?: string;
  }
  export interface DeviceCodeInstance {
    error?: string;
    errorDescription?: string;
    save(): Promise<string>;
  }
  export interface GrantInstance {
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }
  export class Check {
    constructor(reason: string, description: string, check: (ctx: KoaContextWithOIDC) => boolean | Promise<boolean>);
  }
  export interface PromptList extends Array<{ name: string; checks: Check[] }> {
    get(name: string): { name: string; checks: Check[] & { add(check: Check): void } } | undefined;
  }
  export const errors: { InvalidGrant: new (description?: string) => Error };
  export const interactionPolicy: { base(): PromptList; Check: typeof Check };
  export class Provider {
    constructor(issuer: string, configuration: AnyObject);
    proxy: boolean;
    issuer: string;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: AnyObject, options?: AnyObject): Promise<void>;
    interactionResult(req: IncomingMessage, res: ServerResponse, result: AnyObject, options?: AnyObject): Promise<string>;
    on<A extends unknown[]>(event: string, listener: (...args: A) => void): this;
    Grant: { new (properties: { accountId: string; clientId: string }): GrantInstance; find(id: string): Promise<GrantInstance | undefined> };
    DeviceCode: { find(id: string, options?: AnyObject): Promise<DeviceCodeInstance | undefined> };
    Client: { prototype: { redirectUriAllowed(value: string): boolean } & AnyObject };
  }
  export default Provider;
}
