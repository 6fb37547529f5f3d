/* The first line of standard input says what to do (examples/languages/README.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  char command[64] = "";
  if (!fgets(command, sizeof command, stdin)) return 1;
  command[strcspn(command, "\r\n")] = 0;
  if (!strcmp(command, "hello")) {
    puts("hello world");
  } else if (!strcmp(command, "echo")) {
    int c;
    while ((c = getchar()) != EOF) putchar(c);
  } else if (!strcmp(command, "exit")) {
    return 3;
  } else if (!strcmp(command, "spin")) {
    for (volatile unsigned long n = 0;; n++) {}
  } else if (!strcmp(command, "hog")) {
    for (;;) {
      volatile char *chunk = malloc(1 << 20);
      if (!chunk) return 1;
      for (size_t i = 0; i < (1 << 20); i += 4096) chunk[i] = 1;
    }
  }
  return 0;
}
