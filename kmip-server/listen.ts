import type { Server } from 'node:net';

/** Listens on `l` and resolves with the address actually bound (port 0 becomes the port chosen); rejects on a listen error. */
export async function listenOn(server: Server, l: { host: string; port: number }): Promise<{ host: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(l.port, l.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  return { host: l.host, port: a && typeof a === 'object' ? a.port : l.port };
}
