// Callback URLs must not turn the API into a proxy into its own network: http(s) only, and every address the
// host resolves to outside private, loopback, link-local and other special ranges (CALLBACK_ALLOW_PRIVATE=true
// lifts that, for tests and private deployments). Checked at submission, and at delivery by the connection's own
// lookup: the name is resolved once, checked, and the checked address is the one connected to, so a name that
// resolves elsewhere the second time (DNS rebinding) cannot slip past.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
// ::/96 holds the unspecified, loopback and IPv4-compatible addresses; 2002::/16 (6to4) embeds any IPv4 address.
for (const [net, prefix] of [['::', 96], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2002::', 16]] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

export class CallbackRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackRefused';
  }
}

export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1], 'ipv4');
  return blocked.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

export function parseCallbackUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CallbackRefused('must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CallbackRefused('must be an http or https URL');
  if (url.username || url.password) throw new CallbackRefused('must not carry credentials');
  if (raw.length > 2048) throw new CallbackRefused('must be at most 2048 characters');
  return url;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address a host name resolves to (the system's resolver; tests pass their own). */
export type Resolve = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolve: Resolve = (host) => lookup(host, { all: true, verbatim: true });

/** Resolves a host once and answers the address to connect to, refusing when any of its addresses is private. */
export async function resolveTarget(hostname: string, allowPrivate: boolean, resolve: Resolve = systemResolve): Promise<ResolvedAddress> {
  const host = hostname.replace(/^\[|\]$/g, '');
  let addresses: ResolvedAddress[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
  } catch {
    throw new CallbackRefused(`host ${host} does not resolve`);
  }
  if (!addresses.length) throw new CallbackRefused(`host ${host} does not resolve`);
  const bad = allowPrivate ? undefined : addresses.find((a) => isPrivateAddress(a.address));
  if (bad) throw new CallbackRefused(`host ${host} is in a private, loopback or link-local range (${bad.address}); set CALLBACK_ALLOW_PRIVATE=true to allow it`);
  return addresses[0];
}

/** A `lookup` for a connection: resolves once with `resolveTarget`, so the address checked is the address used. */
export function pinnedLookup(allowPrivate: boolean, resolve: Resolve = systemResolve): LookupFunction {
  return (hostname, options, callback) => {
    resolveTarget(hostname, allowPrivate, resolve).then(
      (a) => (options.all ? callback(null, [a]) : callback(null, a.address, a.family)),
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };
}

/** At submission: a well-formed URL whose host resolves only to public addresses (unless allowPrivate). */
export async function checkCallbackTarget(raw: string, allowPrivate: boolean, resolve: Resolve = systemResolve): Promise<URL> {
  const url = parseCallbackUrl(raw);
  if (allowPrivate) return url;
  await resolveTarget(url.hostname, false, resolve);
  return url;
}
