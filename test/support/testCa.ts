// Private certificate authorities for tests, made with `openssl`: a CA (as the ones RDS, Cloud SQL or a managed
// Redis sign with, which a client trusts only when told to) and server certificates it signs for given names.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  /** The CA's certificate, PEM: what a client must trust. */
  certPem: string;
  /** A path holding certPem (for what takes a file). */
  certFile: string;
  /** Issues a server certificate for `names` (DNS names or IP addresses, its subjectAltNames) and `commonName`. */
  issue(names: { dns?: string[]; ip?: string[]; commonName: string }): ServerCertificate;
  /** Removes its files (the CA's key with them). */
  remove(): void;
}

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A CA named `name`, valid two days, in a temp dir of its own. */
export function createTestCa(name: string): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'test-ca-'));
  let issued = 0;
  try {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/O=code-execution tests/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    certPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    certFile: join(dir, 'ca.pem'),
    issue({ dns = [], ip = [], commonName }) {
      const base = `server-${++issued}`;
      const altNames = [...dns.map((n) => `DNS:${n}`), ...ip.map((a) => `IP:${a}`)].join(',');
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/O=code-execution tests/CN=${commonName}`], dir);
      writeFileSync(join(dir, `${base}.ext`), `subjectAltName=${altNames}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${base}.pem`, '-days', '2', '-extfile', `${base}.ext`], dir);
      const certFile = join(dir, `${base}.pem`);
      const keyFile = join(dir, `${base}.key`);
      return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8'), certFile, keyFile };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
