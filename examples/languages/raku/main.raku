# The first line of standard input says what to do (examples/languages/README.md).
given ($*IN.get // '').trim {
  when 'hello' { say 'hello world' }
  when 'echo' { print $*IN.slurp }
  when 'exit' { exit 3 }
  when 'spin' { loop { } }
  when 'hog' { my @chunks; loop { @chunks.push: Buf.allocate(1048576, 1) } }
}
