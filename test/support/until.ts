// Waiting for an event in tests: poll until the probe answers, and fail loudly, naming what never happened.

/** Polls `probe` every 100 ms until it returns something truthy (returned), or throws after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | null | false | Promise<T | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
