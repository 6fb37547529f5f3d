// The first line of standard input says what to do (examples/languages/README.md).
import kotlin.system.exitProcess

fun main() {
    val input = System.`in`.readBytes().toString(Charsets.UTF_8)
    val newline = input.indexOf('\n')
    val command = (if (newline < 0) input else input.substring(0, newline)).trim()
    when (command) {
        "hello" -> println("hello world")
        "echo" -> print(if (newline < 0) "" else input.substring(newline + 1))
        "exit" -> exitProcess(3)
        "spin" -> { var n = 0L; while (true) n++ }
        "hog" -> {
            val chunks = ArrayList<ByteArray>()
            while (true) chunks.add(ByteArray(1 shl 20).also { java.util.Arrays.fill(it, 1) })
        }
    }
}
