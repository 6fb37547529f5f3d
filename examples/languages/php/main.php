<?php
// The first line of standard input says what to do (examples/languages/README.md).
$command = trim((string) fgets(STDIN));
switch ($command) {
  case "hello":
    echo "hello world\n";
    break;
  case "echo":
    echo stream_get_contents(STDIN);
    break;
  case "exit":
    exit(3);
  case "spin":
    while (true) {}
  case "hog":
    $chunks = [];
    while (true) $chunks[] = str_repeat("x", 1 << 20);
}
