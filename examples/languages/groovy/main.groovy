// The first line of standard input says what to do (examples/languages/README.md).
def input = new BufferedReader(new InputStreamReader(System.in, 'UTF-8'))
def command = (input.readLine() ?: '').trim()
switch (command) {
  case 'hello': println 'hello world'; break
  case 'echo':
    def out = new PrintStream(System.out, true, 'UTF-8')
    out.print(input.text)
    out.flush()
    break
  case 'exit': System.exit(3)
  case 'spin': while (true) {}
  case 'hog':
    def chunks = []
    while (true) chunks << new byte[1 << 20]
}
