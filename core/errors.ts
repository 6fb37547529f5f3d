// Errors every side of the pipeline recognises: a transport, the sidecar and the worker's retry logic.

/** The job never got a trustworthy outcome (engine down, runner crashed, timeout): retry elsewhere. */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportError';
  }
}
