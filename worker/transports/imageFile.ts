// One file out of a Docker image, read without running anything: a container is created (never started), the file
// copied out of it as the engine's tar archive, and the container removed.
import type Docker from 'dockerode';

const BLOCK = 512;

/** The first regular file of a tar archive (pax and GNU long-name headers before it are skipped). */
export function firstFileOfTar(tar: Buffer): Buffer {
  for (let at = 0; at + BLOCK <= tar.length;) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(header[156]);
    if (type === '0' || type === '\0') return tar.subarray(at + BLOCK, at + BLOCK + size);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new Error('the archive holds no regular file');
}

/** The file at `path` in `image`; `labels` go on the short-lived container, so a reaper knows whose it is. */
export async function readImageFile(docker: Docker, image: string, path: string, labels: Record<string, string>): Promise<string> {
  const container = await docker.createContainer({ Image: image, Cmd: ['true'], Labels: labels, NetworkDisabled: true, HostConfig: { NetworkMode: 'none' } });
  try {
    const stream = await container.getArchive({ path });
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return firstFileOfTar(Buffer.concat(chunks)).toString('utf8');
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}
