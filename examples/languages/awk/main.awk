# The first line of standard input says what to do (examples/languages/README.md).
NR == 1 {
  command = $0
  if (command == "hello") print "hello world"
  else if (command == "exit") exit 3
  else if (command == "spin") while (1) {}
  else if (command == "hog") {
    chunk = sprintf("%1048576s", "")
    for (n = 0; ; n++) chunks[n] = chunk n
  }
  next
}
command == "echo" { print }
