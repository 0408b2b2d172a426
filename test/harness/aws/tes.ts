// The Greengrass token exchange service, as a component sees it: GET on a loopback URL with the
// component's SVCUID in the Authorization header, answered with temporary AWS credentials. The
// credentials it issues are the only ones the local services accept (see sigv4.ts).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startLoopbackServer, type LoopbackServer } from './aws-json';

/** Path the nucleus serves credentials on (`TokenExchangeService.java`, see greengrass-ipc.md §2). */
export const TES_PATH = '/2016-11-01/credentialprovider/';

/** Lifetime of issued credentials unless a test asks for less: the IoT credentials provider's default, 1 h. */
export const DEFAULT_CREDENTIAL_LIFETIME_MS = 60 * 60 * 1000;

/** One set of temporary credentials the TES handed out, and to whom. */
export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  /** The SVCUID the credentials were issued to. */
  token: string;
}

/** What the services need from the TES: the credentials behind an access key id. */
export interface CredentialRegistry {
  byAccessKeyId(accessKeyId: string): IssuedCredentials | undefined;
}

export interface TokenExchangeServiceOptions {
  credentialLifetimeMs?: number;
}

export class TokenExchangeService implements CredentialRegistry {
  private readonly tokens = new Set<string>();
  private readonly issuedByKey = new Map<string, IssuedCredentials>();
  private requestCount = 0;
  private refusedCount = 0;
  private server: LoopbackServer | undefined;
  private readonly lifetimeMs: number;

  private constructor(opts: TokenExchangeServiceOptions) {
    this.lifetimeMs = opts.credentialLifetimeMs ?? DEFAULT_CREDENTIAL_LIFETIME_MS;
    if (!(this.lifetimeMs > 0)) throw new RangeError(`credentialLifetimeMs must be > 0, got ${this.lifetimeMs}`);
  }

  static async start(opts: TokenExchangeServiceOptions = {}): Promise<TokenExchangeService> {
    const tes = new TokenExchangeService(opts);
    tes.server = await startLoopbackServer((req, res) => tes.handle(req, res));
    return tes;
  }

  get port(): number {
    if (!this.server) throw new Error('TokenExchangeService not started');
    return this.server.port;
  }

  /**
   * The URL as the nucleus advertises it in AWS_CONTAINER_CREDENTIALS_FULL_URI. `localhost` rather than
   * 127.0.0.1 because that is what components see in production; the SDK's URL check accepts both,
   * and localhost resolves to the 127.0.0.1 listener on every platform we run on.
   */
  get url(): string {
    return `http://localhost:${this.port}${TES_PATH}`;
  }

  /** Lets a component's SVCUID fetch credentials (the launcher calls this). */
  addToken(token: string): void {
    this.tokens.add(token);
  }

  /** Refuses the token from now on; credentials already issued stay valid until they expire, as in AWS. */
  removeToken(token: string): void {
    this.tokens.delete(token);
  }

  /** Every request that reached the TES, refused or not. */
  get requests(): number {
    return this.requestCount;
  }

  /** Requests answered 403 (unknown or missing token). */
  get refusedRequests(): number {
    return this.refusedCount;
  }

  /** Everything issued so far, oldest first. */
  issued(): IssuedCredentials[] {
    return [...this.issuedByKey.values()].map((c) => ({ ...c }));
  }

  byAccessKeyId(accessKeyId: string): IssuedCredentials | undefined {
    return this.issuedByKey.get(accessKeyId);
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requestCount++;
    const path = (req.url ?? '').split('?')[0];
    if (path !== TES_PATH) {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const token = req.headers.authorization;
    if (token === undefined || !this.tokens.has(token)) {
      // The nucleus answers an unknown token with a bare 403 (CredentialRequestHandler); the SDK's
      // fromHttp then retries and finally gives up with CredentialsProviderError.
      this.refusedCount++;
      res.writeHead(403).end();
      return;
    }
    const creds = this.issue(token);
    const body = JSON.stringify({
      AccessKeyId: creds.accessKeyId,
      SecretAccessKey: creds.secretAccessKey,
      Token: creds.sessionToken,
      // RFC 3339 in UTC; toISOString keeps the milliseconds so the client and the services agree on
      // the exact instant, which matters when tests use lifetimes of a second or two.
      Expiration: creds.expiration.toISOString(),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  /**
   * Issues fresh credentials on every request. The nucleus caches one set and re-serves it until close
   * to expiry; issuing anew keeps each fetch visible to tests and changes nothing for the SDK, which
   * only looks at what it received.
   */
  private issue(token: string): IssuedCredentials {
    const creds: IssuedCredentials = {
      // ASIA marks temporary (STS) credentials in AWS; 16 upper-case characters after it, as there.
      accessKeyId: 'ASIA' + randomBytes(10).toString('hex').toUpperCase().slice(0, 16),
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      expiration: new Date(Date.now() + this.lifetimeMs),
      token,
    };
    this.issuedByKey.set(creds.accessKeyId, creds);
    return creds;
  }
}
