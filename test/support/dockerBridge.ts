// Where containers on Docker's default bridge reach this host: the bridge's gateway address. Services of the tests
// listen there (not on 0.0.0.0, which would open them to every network this host is on).
import type Docker from 'dockerode';

/** The default bridge network's gateway address (e.g. 172.17.0.1) and subnet (e.g. 172.17.0.0/16). */
export async function dockerBridge(docker: Docker): Promise<{ gateway: string; subnet: string }> {
  const network = await docker.getNetwork('bridge').inspect();
  const configs = (network.IPAM?.Config ?? []) as { Gateway?: string; Subnet?: string }[];
  const { Gateway: gateway, Subnet: subnet } = configs.find((c) => c.Gateway && c.Subnet && !c.Gateway.includes(':')) ?? {};
  if (!gateway || !subnet) throw new Error(`Docker's bridge network has no IPv4 gateway: ${JSON.stringify(network.IPAM)}`);
  return { gateway, subnet };
}
