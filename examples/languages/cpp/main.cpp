// The first line of standard input says what to do (examples/languages/README.md).
#include <iostream>
#include <string>
#include <vector>

int main() {
  std::string command;
  std::getline(std::cin, command);
  if (command == "hello") {
    std::cout << "hello world\n";
  } else if (command == "echo") {
    std::cout << std::cin.rdbuf();
  } else if (command == "exit") {
    return 3;
  } else if (command == "spin") {
    for (volatile unsigned long n = 0;; n++) {}
  } else if (command == "hog") {
    std::vector<std::string> chunks;
    for (;;) chunks.emplace_back(1 << 20, 'x');
  }
  return 0;
}
