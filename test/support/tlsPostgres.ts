// A real PostgreSQL that speaks only TLS, under a private CA made for the test (as RDS's and Cloud SQL's certificates
// chain to CAs no trust store has): `openssl` makes the CA and a server certificate that names the server as RDS's
// do (DNS `localhost`, the host clients connect to) and carries Cloud SQL's kind of identity in its CN
// (`<project>:<instance>`, which clients that connect by IP address check instead).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from './postgresServer.js';

export interface TlsPostgres extends TestPostgres {
  /** The private CA's certificate, PEM: what a client must trust. */
  caPem: string;
  /** A path holding caPem (for what takes a file). */
  caFile: string;
  /** The host name the server's certificate carries (its DNS subjectAltName). */
  hostName: string;
  /** The identity in the certificate's CN, Cloud SQL style. */
  commonName: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Makes a CA and a server certificate in a temp dir, and starts a TLS-only PostgreSQL with them. */
export async function startTlsPostgres(): Promise<TlsPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'tls-postgres-'));
  const hostName = 'localhost';
  const commonName = 'test-project:test-db';
  try {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/O=code-execution tests/CN=code-execution test database CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/O=code-execution tests/CN=${commonName}`], dir);
    writeFileSync(join(dir, 'server.ext'), `subjectAltName=DNS:${hostName}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], dir);
    const server = await startPostgres({ tls: { cert: readFileSync(join(dir, 'server.pem'), 'utf8'), key: readFileSync(join(dir, 'server.key'), 'utf8') } });
    return {
      ...server,
      caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
      caFile: join(dir, 'ca.pem'),
      hostName,
      commonName,
      async stop() {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
