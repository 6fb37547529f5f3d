# The first line of standard input says what to do (examples/languages/README.md).
import sys

command = sys.stdin.readline().strip()
if command == "hello":
    print("hello world")
elif command == "echo":
    sys.stdout.write(sys.stdin.read())
elif command == "exit":
    sys.exit(3)
elif command == "spin":
    while True:
        pass
elif command == "hog":
    chunks = []
    while True:
        chunks.append(b"x" * (1 << 20))
