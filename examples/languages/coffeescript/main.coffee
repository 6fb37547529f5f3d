# The first line of standard input says what to do (examples/languages/README.md).
input = require('fs').readFileSync 0, 'utf8'
newline = input.indexOf '\n'
command = (if newline < 0 then input else input[...newline]).trim()
rest = if newline < 0 then '' else input[newline + 1..]

switch command
  when 'hello' then console.log 'hello world'
  when 'echo' then process.stdout.write rest
  when 'exit' then process.exit 3
  when 'spin' then loop then
  when 'hog'
    chunks = []
    loop chunks.push Buffer.alloc 1 << 20, 1
