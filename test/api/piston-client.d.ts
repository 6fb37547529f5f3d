// piston-client ships no types; the part the tests use.
declare module 'piston-client' {
  export function piston(opts: { server: string }): {
    runtimes(): Promise<any>;
    execute(language: string, code: string, config?: Record<string, unknown>): Promise<any>;
  };
}
