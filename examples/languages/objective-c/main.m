// The first line of standard input says what to do (examples/languages/README.md).
#import <Foundation/Foundation.h>

int main(void) {
  @autoreleasepool {
    char line[64] = "";
    if (!fgets(line, sizeof line, stdin)) return 1;
    NSString *command = [[NSString stringWithUTF8String:line]
        stringByTrimmingCharactersInSet:[NSCharacterSet whitespaceAndNewlineCharacterSet]];
    if ([command isEqualToString:@"hello"]) {
      printf("hello world\n");
    } else if ([command isEqualToString:@"echo"]) {
      int c;
      while ((c = getchar()) != EOF) putchar(c);
    } else if ([command isEqualToString:@"exit"]) {
      return 3;
    } else if ([command isEqualToString:@"spin"]) {
      for (volatile unsigned long n = 0;; n++) {}
    } else if ([command isEqualToString:@"hog"]) {
      NSMutableArray *chunks = [NSMutableArray array];
      for (;;) {
        NSMutableData *chunk = [NSMutableData dataWithLength:1 << 20];
        memset([chunk mutableBytes], 1, [chunk length]);
        [chunks addObject:chunk];
      }
    }
  }
  return 0;
}
