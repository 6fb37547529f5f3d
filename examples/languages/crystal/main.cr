# The first line of standard input says what to do (examples/languages/README.md).
case (STDIN.gets || "").strip
when "hello" then puts "hello world"
when "echo"  then IO.copy(STDIN, STDOUT)
when "exit"  then exit 3
when "spin"  then loop { }
when "hog"
  chunks = [] of Bytes
  loop { chunks << Bytes.new(1 << 20, 1_u8) }
end
