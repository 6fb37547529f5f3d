# The first line of standard input says what to do (examples/languages/README.md).
stdin <- file("stdin")
lines <- readLines(stdin, warn = FALSE)
close(stdin)
command <- if (length(lines) > 0) trimws(lines[1]) else ""
if (command == "hello") {
  cat("hello world\n")
} else if (command == "echo") {
  cat(paste0(lines[-1], "\n"), sep = "")
} else if (command == "exit") {
  quit(status = 3)
} else if (command == "spin") {
  repeat {}
} else if (command == "hog") {
  chunks <- list()
  repeat chunks[[length(chunks) + 1]] <- rep(length(chunks), 131072)
}
