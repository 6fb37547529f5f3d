// A real PostgreSQL that speaks only TLS, under a private CA made for the test (as RDS's and Cloud SQL's certificates
// chain to CAs no trust store has): testCa.ts makes the CA and a server certificate that names the server as RDS's
// do (DNS `localhost`, the host clients connect to) and carries Cloud SQL's kind of identity in its CN
// (`<project>:<instance>`, which clients that connect by IP address check instead).
import { startPostgres, type TestPostgres } from './postgresServer.js';
import { createTestCa } from './testCa.js';

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

/** Makes a CA and a server certificate in a temp dir, and starts a TLS-only PostgreSQL with them. */
export async function startTlsPostgres(): Promise<TlsPostgres> {
  const ca = createTestCa('code-execution test database CA');
  const hostName = 'localhost';
  const commonName = 'test-project:test-db';
  try {
    const cert = ca.issue({ dns: [hostName], commonName });
    const server = await startPostgres({ tls: { cert: cert.certPem, key: cert.keyPem } });
    return {
      ...server,
      caPem: ca.certPem,
      caFile: ca.certFile,
      hostName,
      commonName,
      async stop() {
        await server.stop();
        ca.remove();
      },
    };
  } catch (err) {
    ca.remove();
    throw err;
  }
}
