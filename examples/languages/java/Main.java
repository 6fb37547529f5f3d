// The first line of standard input says what to do (examples/languages/README.md).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public class Main {
  public static void main(String[] args) throws IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String command = in.readLine();
    switch (command == null ? "" : command.trim()) {
      case "hello":
        System.out.println("hello world");
        break;
      case "echo":
        char[] buf = new char[8192];
        StringBuilder rest = new StringBuilder();
        for (int n; (n = in.read(buf)) > 0;) rest.append(buf, 0, n);
        System.out.print(rest);
        break;
      case "exit":
        System.exit(3);
      case "spin":
        for (long n = 0;; n++) {}
      case "hog":
        List<byte[]> chunks = new ArrayList<>();
        for (;;) {
          byte[] chunk = new byte[1 << 20];
          Arrays.fill(chunk, (byte) 1);
          chunks.add(chunk);
        }
      default:
    }
  }
}
