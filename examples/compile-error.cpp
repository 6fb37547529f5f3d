// A missing semicolon: the compiler's message comes back in compileOutput (compile_error).
#include <iostream>

int main() {
  std::cout << "never printed" << std::endl
}
