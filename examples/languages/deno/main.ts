// The first line of standard input says what to do (examples/languages/README.md). Deno's own APIs.
const input: string = await new Response(Deno.stdin.readable).text();
const newline = input.indexOf('\n');
const command = (newline < 0 ? input : input.slice(0, newline)).trim();
const rest = newline < 0 ? '' : input.slice(newline + 1);

switch (command) {
  case 'hello': console.log('hello world'); break;
  case 'echo': await new Response(rest).body!.pipeTo(Deno.stdout.writable); break;
  case 'exit': Deno.exit(3);
  case 'spin': for (;;) {}
  case 'hog': { const chunks: Uint8Array[] = []; for (;;) chunks.push(new Uint8Array(1 << 20).fill(1)); }
}
