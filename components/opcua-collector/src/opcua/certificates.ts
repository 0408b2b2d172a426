// The collector's own application certificate and the hook through which node-opcua asks whether
// to trust the server's.
//
// The client certificate is created once in <workDir>/pki (node-opcua-pki, pure JS: no openssl on
// the industrial PC) and reused across restarts, so the OT admin trusts it on the server once. Its
// thumbprint is logged at every start for that purpose.
//
// Server trust: node-opcua-client fetches the server certificate with GetEndpoints on an unsecured
// discovery channel and, before it opens the secure channel, asks its client certificate manager
// `checkCertificate(serverCertificate)` (client_base_impl.js `_verify_serverCertificate`); anything
// but Good fails connect() — no secure channel, no CreateSession. The same check runs again if
// node-opcua ever re-fetches the certificate. `PinnedCertificateManager` overrides exactly that
// method with `ServerTrustPolicy`, so the PKI folders' trusted/ and rejected/ lists play no part and
// nothing is ever auto-accepted or written there.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { StatusCodes, type StatusCode } from 'node-opcua-client';
import { thumbprintOf, type ServerTrustPolicy, type TrustVerdict } from './trust';

export const APPLICATION_NAME = 'conduit-opcua-collector';
/** Certificate validity, days. Ten years: re-trusting a client on every server is an OT admin's chore. */
const CERTIFICATE_VALIDITY_DAYS = 3_650;

export interface ClientIdentity {
  pkiDir: string;
  certificateFile: string;
  applicationUri: string;
  /** SHA-1 of the DER certificate, lowercase hex. */
  thumbprint: string;
  /** True when this call created the certificate (first start with this workDir). */
  created: boolean;
}

/** The URI in the certificate's SubjectAltName; the client must announce the same one. */
export function collectorApplicationUri(host: string = hostname()): string {
  return `urn:${host}:conduit:opcua-collector`;
}

/** Creates the client certificate and key in `<workDir>/pki` unless they exist. */
export async function ensureClientCertificate(workDir: string): Promise<ClientIdentity> {
  const pkiDir = join(workDir, 'pki');
  const certificateFile = join(pkiDir, 'own', 'certs', 'client_certificate.pem');
  const applicationUri = collectorApplicationUri();
  const manager = new OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: false, disableFileWatchers: true });
  let created = false;
  try {
    // Creates the folders and the private key on the first run only.
    await manager.initialize();
    if (!existsSync(certificateFile)) {
      await manager.createSelfSignedCertificate({
        applicationUri,
        dns: [hostname()],
        subject: `/CN=${APPLICATION_NAME}@${hostname()}/O=conduit`,
        startDate: new Date(),
        validity: CERTIFICATE_VALIDITY_DAYS,
        outputFile: certificateFile,
      });
      created = true;
    }
  } finally {
    await manager.dispose();
  }
  const thumbprint = thumbprintOf(new X509Certificate(readFileSync(certificateFile)).raw);
  return { pkiDir, certificateFile, applicationUri, thumbprint, created };
}

/**
 * A client certificate manager whose verdict on the server certificate is `ServerTrustPolicy`'s.
 * One per connection attempt: `onVerdict` reports to that attempt, and the manager is disposed with it.
 */
export class PinnedCertificateManager extends OPCUACertificateManager {
  constructor(
    pkiDir: string,
    private readonly policy: ServerTrustPolicy,
    private readonly onVerdict: (verdict: TrustVerdict) => void,
  ) {
    super({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: false, disableFileWatchers: true });
  }

  // The base class offers a callback form too; node-opcua-client only uses the promise form on the
  // client side, and both are answered here without touching the store.
  override checkCertificate(certificateChain: Buffer | Buffer[]): Promise<StatusCode>;
  override checkCertificate(certificateChain: Buffer | Buffer[], callback: (err: Error | null, status?: StatusCode) => void): void;
  override checkCertificate(
    certificateChain: Buffer | Buffer[],
    callback?: (err: Error | null, status?: StatusCode) => void,
  ): Promise<StatusCode> | void {
    const status = this.verdictStatus(certificateChain);
    if (callback) {
      callback(null, status);
      return;
    }
    return Promise.resolve(status);
  }

  private verdictStatus(certificateChain: Buffer | Buffer[]): StatusCode {
    const chain = Array.isArray(certificateChain) ? Buffer.concat(certificateChain) : certificateChain;
    if (!chain || chain.length === 0) {
      this.onVerdict({ accepted: false, thumbprint: '(none)', subject: '(none)', reason: 'the server sent no certificate' });
      return StatusCodes.BadCertificateInvalid;
    }
    const verdict = this.policy.check(chain, Date.now());
    this.onVerdict(verdict);
    return verdict.accepted ? StatusCodes.Good : StatusCodes.BadCertificateUntrusted;
  }
}
