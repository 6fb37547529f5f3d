(* The first line of standard input says what to do (examples/languages/README.md). *)
let rec copy buf =
  let n = input stdin buf 0 (Bytes.length buf) in
  if n > 0 then (output stdout buf 0 n; copy buf)

let rec spin n = spin (n + 1)

let rec hog chunks = hog (Bytes.make 1048576 'x' :: chunks)

let () =
  match (try String.trim (input_line stdin) with End_of_file -> "") with
  | "hello" -> print_endline "hello world"
  | "echo" -> copy (Bytes.create 65536); flush stdout
  | "exit" -> exit 3
  | "spin" -> spin 0
  | "hog" -> hog []
  | _ -> ()
