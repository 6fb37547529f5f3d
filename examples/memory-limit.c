/* Touches 1 GiB, far over the 256 MB default limit: stopped by the kernel (memory_limit_exceeded). */
#include <stdlib.h>

int main(void) {
  volatile char *p = malloc(1UL << 30);
  if (!p) return 1;
  for (unsigned long i = 0; i < (1UL << 30); i += 4096) p[i] = 1;
  return 0;
}
