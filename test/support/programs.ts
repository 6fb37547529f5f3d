// The same behaviours written in the first six languages, for the transport contract suite (the matrix on every
// transport); every language of the registry has its example program in examples/languages/ (test/languages/).
export type Behaviour =
  | 'hello' // prints "hello world"
  | 'echo' // copies stdin to stdout
  | 'exit3' // exits with code 3
  | 'busyLoop' // burns CPU forever
  | 'sleep' // sleeps 100 s
  | 'allocate1g' // touches 1 GiB of memory
  | 'allocate100m' // touches 100 MiB, holds it, prints "done", exits 0
  | 'printForever' // writes lines forever
  | 'cpuSecond'; // burns 1 s of its own CPU time, then exits 0

export const PROGRAMS: Record<string, Record<Behaviour, string>> = {
  python: {
    hello: 'print("hello world")',
    echo: 'import sys\nsys.stdout.write(sys.stdin.read())',
    exit3: 'import sys\nsys.exit(3)',
    busyLoop: 'while True:\n    pass',
    sleep: 'import time\ntime.sleep(100)',
    allocate1g: 'x = b"x" * (1 << 30)\nprint(len(x))',
    allocate100m: 'x = b"x" * (100 << 20)\nprint("done")',
    printForever: 'while True:\n    print("x" * 99)',
    cpuSecond: 'import time\nwhile time.process_time() < 1.0:\n    pass',
  },
  javascript: {
    hello: 'console.log("hello world")',
    echo: 'process.stdin.pipe(process.stdout)',
    exit3: 'process.exit(3)',
    busyLoop: 'for (;;) {}',
    sleep: 'setTimeout(() => {}, 100000)',
    allocate1g: 'const b = Buffer.alloc(1 << 30, 1); console.log(b.length)',
    allocate100m: 'const b = Buffer.alloc(100 << 20, 1); console.log("done", b[5])',
    printForever: 'for (;;) console.log("x".repeat(99))',
    cpuSecond: 'for (;;) { const u = process.cpuUsage(); if (u.user + u.system >= 1e6) break }',
  },
  bash: {
    hello: 'echo "hello world"',
    echo: 'cat',
    exit3: 'exit 3',
    busyLoop: 'while :; do :; done',
    sleep: 'sleep 100',
    allocate1g: 's=x; while :; do s="$s$s"; done',
    // bash holds a formatted string twice while assigning it: 60 MiB of text peaks above 100 MiB.
    allocate100m: 'printf -v s "%62914560s" ""; echo done',
    printForever: 'while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done',
    // utime + stime of this shell, in clock ticks (100 per second), from /proc without forking.
    cpuSecond: 'while :; do for i in {1..500}; do :; done; read -ra f < /proc/$$/stat; (( f[13] + f[14] >= 100 )) && break; done',
  },
  c: {
    hello: '#include <stdio.h>\nint main(void) { puts("hello world"); return 0; }',
    echo: '#include <stdio.h>\nint main(void) { int c; while ((c = getchar()) != EOF) putchar(c); return 0; }',
    exit3: 'int main(void) { return 3; }',
    busyLoop: 'int main(void) { volatile unsigned long n = 0; for (;;) n++; }',
    sleep: '#include <unistd.h>\nint main(void) { sleep(100); return 0; }',
    // volatile: otherwise the compiler proves the memory unused and allocates nothing.
    allocate1g: '#include <stdlib.h>\nint main(void) { volatile char *p = malloc(1UL << 30); if (!p) return 1; for (unsigned long i = 0; i < (1UL << 30); i += 4096) p[i] = 1; return 0; }',
    allocate100m: '#include <stdio.h>\n#include <stdlib.h>\nint main(void) { volatile char *p = malloc(100UL << 20); for (unsigned long i = 0; i < (100UL << 20); i += 4096) p[i] = 1; puts("done"); return 0; }',
    printForever: '#include <stdio.h>\nint main(void) { for (;;) puts("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"); }',
    cpuSecond: '#include <time.h>\nint main(void) { while (clock() < CLOCKS_PER_SEC) {} return 0; }',
  },
  cpp: {
    hello: '#include <iostream>\nint main() { std::cout << "hello world" << std::endl; }',
    echo: '#include <iostream>\nint main() { std::cout << std::cin.rdbuf(); }',
    exit3: 'int main() { return 3; }',
    busyLoop: 'int main() { volatile unsigned long n = 0; for (;;) n = n + 1; }',
    sleep: '#include <thread>\n#include <chrono>\nint main() { std::this_thread::sleep_for(std::chrono::seconds(100)); }',
    allocate1g: '#include <cstddef>\nint main() { volatile char *p = new char[1UL << 30]; for (std::size_t i = 0; i < (1UL << 30); i += 4096) p[i] = 1; }',
    allocate100m: '#include <cstddef>\n#include <iostream>\nint main() { volatile char *p = new char[100UL << 20]; for (std::size_t i = 0; i < (100UL << 20); i += 4096) p[i] = 1; std::cout << "done" << std::endl; }',
    printForever: '#include <iostream>\nint main() { for (;;) std::cout << "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\n"; }',
    cpuSecond: '#include <ctime>\nint main() { while (std::clock() < CLOCKS_PER_SEC) {} }',
  },
  java: {
    hello: 'public class Main { public static void main(String[] a) { System.out.println("hello world"); } }',
    echo: 'public class Main { public static void main(String[] a) throws Exception { System.in.transferTo(System.out); System.out.flush(); } }',
    exit3: 'public class Main { public static void main(String[] a) { System.exit(3); } }',
    busyLoop: 'public class Main { static volatile long n; public static void main(String[] a) { for (;;) n++; } }',
    sleep: 'public class Main { public static void main(String[] a) throws Exception { Thread.sleep(100000); } }',
    allocate1g:
      'import java.util.*; public class Main { public static void main(String[] a) { List<byte[]> l = new ArrayList<>(); for (int i = 0; i < 1024; i++) { byte[] b = new byte[1 << 20]; Arrays.fill(b, (byte) 1); l.add(b); } System.out.println(l.size()); } }',
    allocate100m:
      'import java.util.*; public class Main { public static void main(String[] a) { byte[] b = new byte[100 << 20]; Arrays.fill(b, (byte) 1); System.out.println("done" + (b[9] - 1 == 0 ? "" : "!")); } }',
    printForever: 'public class Main { public static void main(String[] a) { for (;;) System.out.println("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"); } }',
    cpuSecond:
      'import java.lang.management.*; public class Main { public static void main(String[] a) { com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean(); while (os.getProcessCpuTime() < 1_000_000_000L) {} } }',
  },
};

/** A syntax error per compiled language, and a word its compiler's message contains. */
export const COMPILE_ERRORS: Record<string, string> = {
  c: 'int main(void) { return 3 }',
  cpp: 'int main() { return 3 }',
  java: 'public class Main { public static void main(String[] a) { int x = } }',
};
