// The local AWS a test starts once: a token exchange service and one endpoint per service, each its
// own loopback server as separate AWS endpoints are, and the environment a component needs to reach
// them through the SDK's default credential chain and endpoint resolution.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFirehose } from './firehose';
import { LocalSecretsManager } from './secrets-manager';
import { TokenExchangeService } from './tes';

/** Region the local endpoints sign and answer for unless a test picks another. */
export const DEFAULT_REGION = 'eu-central-1';
/** Account id in ARNs and messages: AWS's documentation example account. */
export const DEFAULT_ACCOUNT_ID = '123456789012';

/**
 * Variables that would let something other than the local TES or endpoints win in the SDK v3
 * default chain (env → SSO → ini → process → web identity → container), or bend endpoint resolution.
 * AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE are not in the list: clientEnv points them at a
 * file that does not exist, so a developer's ~/.aws cannot supply a profile either.
 */
export const AWS_ENV_TO_UNSET: readonly string[] = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_ACCOUNT_ID',
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  // RELATIVE_URI takes precedence over FULL_URI and points at the ECS link-local address.
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  // The token file takes precedence over AWS_CONTAINER_AUTHORIZATION_TOKEN.
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  // Set, it makes the SDK ignore the AWS_ENDPOINT_URL_* variables below.
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  'AWS_ENDPOINT_URL',
  'AWS_USE_FIPS_ENDPOINT',
  'AWS_USE_DUALSTACK_ENDPOINT',
];

/** The environment for a component: variables to set and variables to remove. */
export interface ClientEnv {
  set: Record<string, string>;
  unset: readonly string[];
}

/** A copy of `base` with the client environment applied, e.g. for a child process. */
export function applyClientEnv(base: NodeJS.ProcessEnv, env: ClientEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...base };
  for (const k of env.unset) delete out[k];
  return { ...out, ...env.set };
}

export interface LocalAwsOptions {
  region?: string;
  accountId?: string;
  /** Lifetime of the credentials the TES issues; default 1 h. */
  credentialLifetimeMs?: number;
  /** Also append every record Firehose accepts to `<dir>/<stream>.jsonl` (LocalFirehose.keepRecordsIn). */
  firehoseRecordsDir?: string;
}

export class LocalAws {
  private constructor(
    readonly region: string,
    readonly accountId: string,
    readonly tes: TokenExchangeService,
    readonly secretsManager: LocalSecretsManager,
    readonly firehose: LocalFirehose,
  ) {}

  static async start(opts: LocalAwsOptions = {}): Promise<LocalAws> {
    const region = opts.region ?? DEFAULT_REGION;
    const accountId = opts.accountId ?? DEFAULT_ACCOUNT_ID;
    const started: { close(): Promise<void> }[] = [];
    try {
      const tes = await TokenExchangeService.start({ credentialLifetimeMs: opts.credentialLifetimeMs });
      started.push(tes);
      const secretsManager = await LocalSecretsManager.start({ region, accountId, credentials: tes });
      started.push(secretsManager);
      const firehose = await LocalFirehose.start({ region, accountId, credentials: tes });
      started.push(firehose);
      if (opts.firehoseRecordsDir !== undefined) firehose.keepRecordsIn(opts.firehoseRecordsDir);
      return new LocalAws(region, accountId, tes, secretsManager, firehose);
    } catch (e) {
      // Leave no listener behind when a later server fails to start.
      await Promise.all(started.map((s) => s.close()));
      throw e;
    }
  }

  /**
   * What a component needs to reach these endpoints with the SDK's defaults, as the nucleus sets it
   * (greengrass-ipc.md §2): the TES URL and the component's token, the region, plus the per-service
   * endpoint variables SDK v3 reads (AWS_ENDPOINT_URL_<SERVICE ID>, checked in
   * @smithy/core getEndpointUrlConfig: "Secrets Manager" → SECRETS_MANAGER, "Firehose" → FIREHOSE).
   * The token must also be registered with `tes.addToken`.
   */
  clientEnv(token: string): ClientEnv {
    // A path that does not exist: the ini and SSO providers find no profile and pass to the next.
    const noAwsConfig = join(tmpdir(), 'conduit-local-aws-no-such-file');
    return {
      set: {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: this.tes.url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: token,
        AWS_REGION: this.region,
        AWS_DEFAULT_REGION: this.region,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: this.secretsManager.endpoint,
        AWS_ENDPOINT_URL_FIREHOSE: this.firehose.endpoint,
        AWS_SHARED_CREDENTIALS_FILE: noAwsConfig,
        AWS_CONFIG_FILE: noAwsConfig,
      },
      unset: AWS_ENV_TO_UNSET,
    };
  }

  /** Closes every server and its open connections. */
  async close(): Promise<void> {
    await Promise.all([this.tes.close(), this.secretsManager.close(), this.firehose.close()]);
  }
}
