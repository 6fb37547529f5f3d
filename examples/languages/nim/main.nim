# The first line of standard input says what to do (examples/languages/README.md).
import std/strutils

var command = ""
try:
  command = stdin.readLine().strip()
except EOFError:
  discard

case command
of "hello":
  echo "hello world"
of "echo":
  stdout.write(stdin.readAll())
of "exit":
  quit(3)
of "spin":
  var n = 0
  while true: inc n
of "hog":
  var chunks: seq[string]
  while true: chunks.add(repeat('x', 1 shl 20))
else:
  discard
