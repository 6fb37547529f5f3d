// How the worker speaks TLS to PostgreSQL, and what a TLS failure means. DATABASE_URL's sslmode says whether to use
// TLS; DATABASE_CA_CERT (PEM) is the CA the server's certificate must chain to (RDS and Cloud SQL certificates chain
// to CAs no trust store has: without it only Node's own store is tried, and they fail); DATABASE_SERVER_NAME is the
// name that certificate must carry when it is not DATABASE_URL's host (Cloud SQL by private IP: `<project>:<instance>`).
// node-postgres would read sslmode itself but lets the URL's parameters override the options given beside it, so the
// TLS parameters are taken out of the URL here and turned into the one `ssl` option.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';

export interface DatabaseTlsSettings {
  /** PEM of the CA(s) the server's certificate must chain to (DATABASE_CA_CERT); absent: Node's own store. */
  ca?: string;
  /** The name the server's certificate must carry instead of the URL's host (DATABASE_SERVER_NAME). */
  serverName?: string;
}

/** A TLS setting the operator must change: the worker cannot work until then. `fix` says what to set. */
export class DatabaseConfigError extends Error {
  override readonly name = 'DatabaseConfigError';
  constructor(
    readonly reason: string,
    readonly fix: string,
  ) {
    super(`${reason}; ${fix}`);
  }
}

export interface DatabaseConnection {
  /** DATABASE_URL without its TLS parameters. */
  connectionString: string;
  /** node-postgres's `ssl`: false (plain), or the TLS options; undefined: the URL asks for nothing (plain). */
  ssl: false | ConnectionOptions | undefined;
  /** What the connection does, for the log: plain, verified (chain and name), chain only, or unverified. */
  tls: 'off' | 'verified' | 'chain-only' | 'unverified';
}

const TLS_PARAMS = ['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'];

/** The PEM certificates of `pem`; throws when there is none or one does not parse. */
export function parseCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new Error('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new Error(`certificate ${i + 1} does not parse: ${(err as Error).message}`);
    }
  });
}

/** Checks the server's certificate names `serverName` (its CN or a DNS subjectAltName), instead of the URL's host. */
function identityCheck(serverName: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (host, cert) => {
    const names = [cert.subject?.CN, ...(cert.subjectaltname ?? '').split(/,\s*/).filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4))].flat();
    if (names.includes(serverName)) return undefined;
    const err = new Error(`the certificate of ${host} names ${names.filter(Boolean).join(', ') || 'nothing'}, not ${serverName} (DATABASE_SERVER_NAME)`) as NodeJS.ErrnoException;
    err.code = 'ERR_TLS_CERT_ALTNAME_INVALID';
    return err;
  };
}

/**
 * The connection string and TLS options for DATABASE_URL and the TLS settings. sslmode require, verify-ca and
 * verify-full verify the server against DATABASE_CA_CERT (or the URL's sslrootcert file, or Node's store): require
 * and verify-full its chain and name (as node-postgres 8 treats require), verify-ca its chain alone (it needs a CA);
 * no-verify encrypts without verifying (an explicit choice); disable, or no sslmode and no CA, is plain.
 * DATABASE_CA_CERT alone turns verify-full on. Throws DatabaseConfigError on settings that contradict each other.
 */
export function databaseConnection(databaseUrl: string, settings: DatabaseTlsSettings = {}): DatabaseConnection {
  const url = new URL(databaseUrl);
  const params = Object.fromEntries(TLS_PARAMS.map((p) => [p, url.searchParams.get(p) ?? undefined]));
  for (const p of TLS_PARAMS) url.searchParams.delete(p);
  const connectionString = url.toString();
  if (params.sslcert || params.sslkey) {
    throw new DatabaseConfigError('DATABASE_URL asks for a client certificate (sslcert, sslkey), which the worker does not send', 'remove sslcert and sslkey from DATABASE_URL');
  }
  const ssl = params.ssl?.toLowerCase();
  const mode = params.sslmode ?? (ssl === 'true' || ssl === '1' ? 'verify-full' : ssl === 'false' || ssl === '0' ? 'disable' : undefined);
  if (params.sslrootcert && settings.ca) {
    throw new DatabaseConfigError('DATABASE_URL names a CA file (sslrootcert) and DATABASE_CA_CERT gives one too', 'keep one of them');
  }
  let ca = settings.ca;
  if (params.sslrootcert) {
    try {
      ca = readFileSync(params.sslrootcert, 'utf8');
    } catch (err) {
      throw new DatabaseConfigError(`cannot read DATABASE_URL's sslrootcert ${params.sslrootcert}: ${(err as Error).message}`, 'give a readable PEM file, or the PEM itself in DATABASE_CA_CERT');
    }
  }
  const trust = ca ? { ca } : {};
  switch (mode ?? (ca ? 'verify-full' : undefined)) {
    case undefined:
      return { connectionString, ssl: undefined, tls: 'off' };
    case 'disable':
      if (ca || settings.serverName) {
        throw new DatabaseConfigError('DATABASE_URL turns TLS off (sslmode=disable) while DATABASE_CA_CERT or DATABASE_SERVER_NAME is set', 'remove sslmode=disable, or unset them');
      }
      return { connectionString, ssl: false, tls: 'off' };
    case 'no-verify':
      return { connectionString, ssl: { rejectUnauthorized: false }, tls: 'unverified' };
    case 'verify-ca':
      if (!ca) throw new DatabaseConfigError('sslmode=verify-ca verifies the chain against a CA of your own, and none is given', 'set DATABASE_CA_CERT to the PEM of the CA that signs the server\'s certificate');
      return { connectionString, ssl: { ...trust, rejectUnauthorized: true, checkServerIdentity: () => undefined }, tls: 'chain-only' };
    case 'prefer':
    case 'require':
    case 'verify-full':
      return {
        connectionString,
        ssl: { ...trust, rejectUnauthorized: true, ...(settings.serverName ? { checkServerIdentity: identityCheck(settings.serverName) } : {}) },
        tls: 'verified',
      };
    default:
      throw new DatabaseConfigError(`DATABASE_URL's sslmode=${mode} is not one the worker knows`, 'use sslmode=verify-full (or verify-ca, no-verify, disable)');
  }
}

/** Node's codes for a server certificate that does not verify: the CA is not trusted, or the name does not match. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'INVALID_CA', 'CERT_CHAIN_TOO_LONG',
  'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const NAME = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);

/**
 * The configuration problem a connection error shows, or null when it is not one (then it may be the network, worth
 * waiting for). `where` is the database without its password.
 */
export function databaseTlsProblem(err: unknown, where: string): DatabaseConfigError | null {
  const { code, message } = err as { code?: unknown; message?: string };
  const text = String(message ?? err);
  const caFix =
    'set DATABASE_CA_CERT to the PEM of the CA that signs the server\'s certificate (RDS: the region\'s bundle from ' +
    'https://truststore.pki.rds.amazonaws.com, the aws stack\'s rdsCaBundleFile; Cloud SQL: the instance\'s server CA, which the gcp stack sets)';
  if (typeof code === 'string' && UNTRUSTED.has(code)) {
    return new DatabaseConfigError(`TLS verification failed: PostgreSQL at ${where} presented a certificate this worker does not trust (${code}: ${text})`, caFix);
  }
  if (typeof code === 'string' && EXPIRED.has(code)) {
    return new DatabaseConfigError(`TLS verification failed: the certificate of PostgreSQL at ${where} is not valid now (${code}: ${text})`, 'renew the server\'s certificate, or check this machine\'s clock');
  }
  if (typeof code === 'string' && NAME.has(code)) {
    return new DatabaseConfigError(
      `TLS verification failed: the certificate of PostgreSQL at ${where} does not name the host the worker connected to (${code}: ${text})`,
      'connect by the name the certificate carries (DATABASE_URL\'s host), or set DATABASE_SERVER_NAME to it (Cloud SQL by private IP: <project>:<instance>)',
    );
  }
  if (/server does not support SSL/i.test(text)) {
    return new DatabaseConfigError(`TLS failed: DATABASE_URL asks for TLS, and PostgreSQL at ${where} does not offer it`, 'turn TLS on in the server, or set sslmode=disable in DATABASE_URL on a network you trust');
  }
  // pg_hba refuses the connection without TLS (hostssl only, as RDS with rds.force_ssl and Cloud SQL ENCRYPTED_ONLY).
  if (code === '28000' && /no encryption|SSL off/i.test(text)) {
    return new DatabaseConfigError(`PostgreSQL at ${where} accepts TLS connections only (${text})`, 'set sslmode=verify-full in DATABASE_URL and DATABASE_CA_CERT to the server\'s CA');
  }
  return null;
}
