// The first line of standard input says what to do (examples/languages/README.md).
use std::io::{self, BufRead, Read, Write};

fn main() {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut command = String::new();
    input.read_line(&mut command).unwrap();
    match command.trim() {
        "hello" => println!("hello world"),
        "echo" => {
            let mut rest = Vec::new();
            input.read_to_end(&mut rest).unwrap();
            io::stdout().write_all(&rest).unwrap();
        }
        "exit" => std::process::exit(3),
        "spin" => loop {},
        "hog" => {
            let mut chunks = Vec::new();
            loop {
                chunks.push(vec![1u8; 1 << 20]);
            }
        }
        _ => {}
    }
}
