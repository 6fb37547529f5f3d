// Waits end when their client goes away, so an abandoned request does not keep its Redis connection.
import type { FastifyReply } from 'fastify';

/**
 * Fires when the response is closed before it was finished: the client disconnected. (The response's own
 * event, once per request; the socket's would pile up listeners across a keep-alive connection's requests.)
 */
export function abortedWith(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
