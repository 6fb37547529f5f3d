// The first line of standard input says what to do (examples/languages/README.md). Bun's own APIs.
const input: string = await Bun.stdin.text();
const newline = input.indexOf('\n');
const command = (newline < 0 ? input : input.slice(0, newline)).trim();
const rest = newline < 0 ? '' : input.slice(newline + 1);

switch (command) {
  case 'hello': console.log('hello world'); break;
  case 'echo': await Bun.write(Bun.stdout, rest); break;
  case 'exit': process.exit(3);
  case 'spin': for (;;) {}
  case 'hog': { const chunks: Uint8Array[] = []; for (;;) chunks.push(new Uint8Array(1 << 20).fill(1)); }
}
