// The first line of standard input says what to do (examples/languages/README.md).
using System;
using System.Collections.Generic;

class Program {
  static int Main() {
    string command = (Console.ReadLine() ?? "").Trim();
    switch (command) {
      case "hello":
        Console.WriteLine("hello world");
        break;
      case "echo":
        Console.Write(Console.In.ReadToEnd());
        break;
      case "exit":
        return 3;
      case "spin":
        for (long n = 0;; n++) {}
      case "hog":
        var chunks = new List<byte[]>();
        for (;;) {
          var chunk = new byte[1 << 20];
          for (int i = 0; i < chunk.Length; i += 4096) chunk[i] = 1;
          chunks.Add(chunk);
        }
    }
    return 0;
  }
}
