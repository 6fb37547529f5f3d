# The first line of standard input says what to do (examples/languages/README.md).
command = ($stdin.gets || "").strip
case command
when "hello" then puts "hello world"
when "echo" then $stdout.write($stdin.read)
when "exit" then exit 3
when "spin" then loop {}
when "hog"
  chunks = []
  loop { chunks << "x" * (1 << 20) }
end
