// The one rule for a service a test needs: under CI its absence fails the suite; elsewhere the tests that need it are
// skipped, saying so loudly.
export function availableOrSkip(service: string, problem: string | null): boolean {
  if (!problem) return true;
  if (process.env.CI) throw new Error(`CI requires ${service}: ${problem}`);
  console.warn(`\n!!!!!!!!!!\n!!! SKIPPING ${service.toUpperCase()} TESTS: ${problem}\n!!!!!!!!!!\n`);
  return false;
}
