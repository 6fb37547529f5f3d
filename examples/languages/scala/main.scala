// The first line of standard input says what to do (examples/languages/README.md).
object Main {
  def main(args: Array[String]): Unit = {
    val in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, "UTF-8"))
    Option(in.readLine()).getOrElse("").trim match {
      case "hello" => println("hello world")
      case "echo" =>
        val buf = new Array[Char](8192)
        var n = in.read(buf)
        while (n > 0) { print(new String(buf, 0, n)); n = in.read(buf) }
        Console.flush()
      case "exit" => sys.exit(3)
      case "spin" => var n = 0L; while (true) n += 1
      case "hog" =>
        val chunks = new java.util.ArrayList[Array[Byte]]()
        while (true) { val chunk = new Array[Byte](1 << 20); java.util.Arrays.fill(chunk, 1.toByte); chunks.add(chunk) }
      case _ =>
    }
  }
}
