// The CA bundle the aws workers verify RDS with. RDS certificates chain to AWS's own CAs (rds-ca-rsa2048-g1 and its
// siblings), which neither Node's trust store nor the images have. AWS publishes them as PEM bundles, one per region
// (https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem) and one global: the operator fetches the
// region's once and names the file in the stack config (rdsCaBundleFile), so a deploy needs no network of its own, and
// what the workers trust is a file the operator chose and can read. The stack hands it to the workers as
// DATABASE_CA_CERT, a plain variable of the task definition (certificates are public).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StackConfigError } from '../stackConfig.js';

const KEY = 'code-execution:rdsCaBundleFile';
const bundleUrl = (region: string) => `https://truststore.pki.rds.amazonaws.com/${region}/${region}-bundle.pem`;

/** ECS refuses task definitions over 64 KiB: the bundle may take half (a region's is about 6 KiB; the global one, 160). */
export const MAX_CA_BUNDLE_BYTES = 32 * 1024;

/** The bundle in `pem`, checked: certificates that parse, each a CA, small enough for a task definition. Throws why not. */
export function checkCaBundle(pem: string, what: string): string {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new Error(`${what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const [i, block] of blocks.entries()) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch (err) {
      throw new Error(`${what}: certificate ${i + 1} does not parse: ${(err as Error).message}`);
    }
    if (!cert.ca) throw new Error(`${what}: certificate ${i + 1} (${cert.subject.replace(/\n/g, ', ')}) is not a CA; give the CA bundle, not a server's certificate`);
  }
  const bundle = `${blocks.join('\n')}\n`;
  if (Buffer.byteLength(bundle) > MAX_CA_BUNDLE_BYTES) {
    throw new Error(`${what} is ${Buffer.byteLength(bundle)} bytes, more than a task definition can carry (${MAX_CA_BUNDLE_BYTES}); give the region's bundle, not the global one`);
  }
  return bundle;
}

/** Reads and checks the bundle file the stack config names (`path`, rdsCaBundleFile) for `region`; says what to do when it cannot. */
export function readRdsCaBundle(path: string, region: string): string {
  const fetchIt = `fetch it and set it with: curl -fsSLo rds-ca.pem ${bundleUrl(region)} && pulumi config set ${KEY} rds-ca.pem`;
  if (!path) {
    throw new StackConfigError([KEY], `${KEY} is not set: the aws workers verify RDS's certificate, which chains to AWS's own CAs, so the stack needs the CA bundle of ${region}; ${fetchIt}`);
  }
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new StackConfigError([KEY], `${KEY} ${path} cannot be read (${(err as Error).message}); ${fetchIt}`);
  }
  try {
    return checkCaBundle(pem, `${KEY} ${path}`);
  } catch (err) {
    throw new StackConfigError([KEY], `${(err as Error).message}; ${fetchIt}`);
  }
}
