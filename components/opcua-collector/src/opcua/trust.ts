// Which server certificates the collector accepts: the configured `serverTrust`, and nothing else.
// There is no trust-on-first-use and no "rejected → trusted" folder dance: the OT admin pins the
// server in the Greengrass deployment, and a certificate that matches no pin is refused with its
// thumbprint and subject in the log, so the pin can be copied from there.
//
// Accepted: a certificate whose SHA-1 thumbprint is pinned, a certificate equal (byte for byte) to a
// configured PEM certificate, or one issued and signed by a configured CA certificate and within its
// validity period. CA revocation lists are not checked (say so to whoever configures a CA).
import { X509Certificate, createHash } from 'node:crypto';
import type { ServerTrust } from '../config-types';

export type TrustVerdict =
  | { accepted: true; how: 'thumbprint' | 'certificate' | 'issuer'; thumbprint: string; subject: string }
  | { accepted: false; thumbprint: string; subject: string; reason: string };

/** SHA-1 of the DER bytes, lowercase hex: the thumbprint OPC UA and UA Expert show. */
export function thumbprintOf(der: Buffer): string {
  return createHash('sha1').update(der).digest('hex');
}

/**
 * The first certificate of a DER chain. OPC UA sends a chain as concatenated DER certificates; the
 * leaf comes first. Reads the outer SEQUENCE's length (X.690 8.1.3) instead of parsing everything.
 */
export function leafCertificate(chain: Buffer): Buffer {
  if (chain.length < 2 || chain[0] !== 0x30) return chain;
  const first = chain[1] ?? 0;
  if (first < 0x80) return chain.subarray(0, 2 + first);
  const lengthBytes = first & 0x7f;
  if (lengthBytes === 0 || lengthBytes > 4 || chain.length < 2 + lengthBytes) return chain;
  let length = 0;
  for (let i = 0; i < lengthBytes; i++) length = length * 256 + (chain[2 + i] ?? 0);
  const end = 2 + lengthBytes + length;
  return end <= chain.length ? chain.subarray(0, end) : chain;
}

/** The configured trust, parsed once; `check` is called for every connection attempt. */
export class ServerTrustPolicy {
  private readonly thumbprints: ReadonlySet<string>;
  /** Exact certificates by thumbprint. */
  private readonly exact: ReadonlyMap<string, Buffer>;
  /** Configured certificates that may sign server certificates. */
  private readonly authorities: readonly X509Certificate[];

  constructor(trust: ServerTrust) {
    this.thumbprints = new Set(trust.thumbprints.map(normalizeThumbprint));
    const exact = new Map<string, Buffer>();
    const authorities: X509Certificate[] = [];
    for (const [i, pem] of trust.certificates.entries()) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(pem);
      } catch (err) {
        throw new Error(`serverTrust.certificates[${i}] is not a PEM certificate: ${(err as Error).message}`);
      }
      exact.set(thumbprintOf(cert.raw), cert.raw);
      if (cert.ca) authorities.push(cert);
    }
    this.exact = exact;
    this.authorities = authorities;
  }

  get isEmpty(): boolean {
    return this.thumbprints.size === 0 && this.exact.size === 0;
  }

  check(chainDer: Buffer, nowMs: number): TrustVerdict {
    const der = leafCertificate(chainDer);
    const thumbprint = thumbprintOf(der);
    let cert: X509Certificate | undefined;
    try {
      cert = new X509Certificate(der);
    } catch {
      cert = undefined;
    }
    const subject = cert ? cert.subject.replace(/\n/g, ', ') : '(unparsable certificate)';
    if (this.thumbprints.has(thumbprint)) return { accepted: true, how: 'thumbprint', thumbprint, subject };
    const same = this.exact.get(thumbprint);
    if (same && same.equals(der)) return { accepted: true, how: 'certificate', thumbprint, subject };
    if (!cert) return { accepted: false, thumbprint, subject, reason: 'the certificate cannot be parsed' };
    for (const ca of this.authorities) {
      // checkIssued compares names and key identifiers; verify checks the signature itself.
      if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) continue;
      const from = Date.parse(cert.validFrom);
      const to = Date.parse(cert.validTo);
      if (nowMs < from || nowMs > to) {
        return { accepted: false, thumbprint, subject, reason: `issued by a trusted CA but not valid now (${cert.validFrom} – ${cert.validTo})` };
      }
      return { accepted: true, how: 'issuer', thumbprint, subject };
    }
    return { accepted: false, thumbprint, subject, reason: 'matches no pinned thumbprint or certificate of serverTrust' };
  }
}

/** Accepts `AB:CD:…`, spaces and upper case, as tools print thumbprints. */
function normalizeThumbprint(t: string): string {
  return t.replace(/[\s:]/g, '').toLowerCase();
}
