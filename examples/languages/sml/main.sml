(* The first line of standard input says what to do (examples/languages/README.md). *)
fun trim s = Substring.string (Substring.dropr Char.isSpace (Substring.full s))

fun echo () =
  case TextIO.input TextIO.stdIn of
    "" => ()
  | text => (TextIO.output (TextIO.stdOut, text); echo ())

fun spin n = spin (n + 1)

fun hog chunks = hog (Word8Array.array (1048576, 0w1) :: chunks)

val () =
  case trim (getOpt (TextIO.inputLine TextIO.stdIn, "")) of
    "hello" => print "hello world\n"
  | "echo" => echo ()
  | "exit" => (TextIO.flushOut TextIO.stdOut; Posix.Process.exit 0w3)
  | "spin" => ignore (spin 0)
  | "hog" => ignore (hog [])
  | _ => ()
