// The first line of standard input says what to do (examples/languages/README.md).
const input = require('fs').readFileSync(0, 'utf8');
const newline = input.indexOf('\n');
const command = (newline < 0 ? input : input.slice(0, newline)).trim();
const rest = newline < 0 ? '' : input.slice(newline + 1);

switch (command) {
  case 'hello': console.log('hello world'); break;
  case 'echo': process.stdout.write(rest); break;
  case 'exit': process.exit(3);
  case 'spin': for (;;) {}
  case 'hog': { const chunks = []; for (;;) chunks.push(Buffer.alloc(1 << 20, 1)); }
}
