// The first line of standard input says what to do (examples/languages/README.md).
import core.stdc.stdlib : exit;
import std.stdio;
import std.string : strip;

void main() {
    switch (stdin.readln().strip()) {
        case "hello":
            writeln("hello world");
            break;
        case "echo":
            foreach (ubyte[] chunk; stdin.byChunk(65536)) stdout.rawWrite(chunk);
            break;
        case "exit":
            exit(3);
            break;
        case "spin":
            for (ulong n = 0;; n++) {}
        case "hog":
            ubyte[][] chunks;
            for (;;) {
                auto chunk = new ubyte[1 << 20];
                chunk[] = 1;
                chunks ~= chunk;
            }
        default:
            break;
    }
}
