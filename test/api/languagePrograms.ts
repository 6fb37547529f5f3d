// One program per recipe of core/languages.ts, written the way the users of Piston and Judge0 write them (entry
// points, class names, modules and headers those systems accept), for test/api/languageApis.test.ts. Each reads
// one line of standard input and prints `hello <line>`. Our own programs, not the systems' package tests.

/** What every program is given, and what it answers. */
export const STDIN = 'Ada Lovelace\n';
export const STDOUT = 'hello Ada Lovelace\n';

export interface LanguageProgram {
  /** As a Piston user sends it: piston-client's one file without a name. */
  piston: string;
  /** Piston's `language` when the recipe's Piston name would pick another runtime (its alias then). */
  pistonLanguage?: string;
  /** As a Judge0 user sends it, when Judge0's fixed file names make that differ (Main.java, Main.scala). */
  judge0?: string;
}

/** The text as written: backslashes stay (String.raw), the newline after the opening backtick goes. */
const src = (s: TemplateStringsArray, ...values: unknown[]) => String.raw(s, ...values).replace(/^\n/, '');

export const PROGRAMS: Record<string, LanguageProgram> = {
  python: {
    piston: src`
name = input()
print(f"hello {name}")
`,
  },
  javascript: {
    piston: src`
const readline = require('readline');

const rl = readline.createInterface({ input: process.stdin });
rl.once('line', (line) => {
  console.log('hello ' + line);
  rl.close();
});
`,
  },
  typescript: {
    piston: src`
import * as fs from 'fs';

function greet(name: string): string {
  return 'hello ' + name;
}

const line: string = fs.readFileSync(0, 'utf8').split('\n')[0];
console.log(greet(line));
`,
  },
  bash: {
    piston: src`
#!/bin/bash
read -r name
echo "hello $name"
`,
  },
  c: {
    piston: src`
#include <stdio.h>
#include <string.h>

int main(void) {
    char name[256];
    if (fgets(name, sizeof(name), stdin) == NULL) return 1;
    name[strcspn(name, "\n")] = '\0';
    printf("hello %s\n", name);
    return 0;
}
`,
  },
  cpp: {
    piston: src`
#include <bits/stdc++.h>
using namespace std;

int main() {
    ios::sync_with_stdio(false);
    string name;
    getline(cin, name);
    cout << "hello " << name << endl;
    return 0;
}
`,
  },
  java: {
    // Piston runs a single source file whatever its public class is called.
    piston: src`
import java.util.Scanner;

public class HelloWorld {
    public static void main(String[] args) {
        Scanner scanner = new Scanner(System.in);
        String name = scanner.nextLine();
        System.out.println("hello " + name);
    }
}
`,
    // Judge0 compiles Main.java and runs Main.
    judge0: src`
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;

public class Main {
    public static void main(String[] args) throws IOException {
        BufferedReader reader = new BufferedReader(new InputStreamReader(System.in));
        String name = reader.readLine();
        System.out.println("hello " + name);
    }
}
`,
  },
  go: {
    piston: src`
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

func main() {
	reader := bufio.NewReader(os.Stdin)
	name, _ := reader.ReadString('\n')
	fmt.Printf("hello %s\n", strings.TrimRight(name, "\r\n"))
}
`,
  },
  rust: {
    piston: src`
use std::io::{self, BufRead};

fn main() {
    let stdin = io::stdin();
    let mut name = String::new();
    stdin.lock().read_line(&mut name).expect("could not read stdin");
    println!("hello {}", name.trim_end());
}
`,
  },
  ruby: {
    piston: src`
name = gets.chomp
puts "hello #{name}"
`,
  },
  php: {
    piston: src`
<?php
$name = trim(fgets(STDIN));
echo "hello $name\n";
`,
  },
  perl: {
    piston: src`
use strict;
use warnings;

my $name = <STDIN>;
chomp $name;
print "hello $name\n";
`,
  },
  lua: {
    piston: src`
local name = io.read("l")
print("hello " .. name)
`,
  },
  kotlin: {
    piston: src`
fun greeting(name: String) = "hello $name"

fun main() {
    val name = readLine() ?: ""
    println(greeting(name))
}
`,
  },
  scala: {
    // Piston builds a jar and runs its main object, whatever it is called.
    piston: src`
object HelloWorld extends App {
  val name = scala.io.StdIn.readLine()
  println(s"hello $name")
}
`,
    // Judge0 compiles Main.scala and runs Main.
    judge0: src`
object Main {
  def main(args: Array[String]): Unit = {
    val name = scala.io.StdIn.readLine()
    println("hello " + name)
  }
}
`,
  },
  clojure: {
    piston: src`
(ns hello.core
  (:gen-class))

(defn -main [& args]
  (let [name (read-line)]
    (println (str "hello " name))))

(-main)
`,
  },
  csharp: {
    piston: src`
using System;

namespace HelloApp
{
    class Program
    {
        static void Main(string[] args)
        {
            string name = Console.ReadLine();
            Console.WriteLine($"hello {name}");
        }
    }
}
`,
  },
  haskell: {
    piston: src`
module Main where

main :: IO ()
main = do
  name <- getLine
  putStrLn ("hello " ++ name)
`,
  },
  ocaml: {
    piston: src`
let () =
  let name = read_line () in
  Printf.printf "hello %s\n" name
`,
  },
  r: {
    piston: src`
con <- file("stdin")
name <- readLines(con, n = 1)
close(con)
cat(paste("hello", name), "\n", sep = "")
`,
  },
  fortran: {
    piston: src`
program hello
  implicit none
  character(len=256) :: name
  read (*, '(A)') name
  write (*, '(A)') 'hello ' // trim(name)
end program hello
`,
  },
  pascal: {
    piston: src`
program Hello;
var
  name: string;
begin
  ReadLn(name);
  WriteLn('hello ', name);
end.
`,
  },
  d: {
    piston: src`
import std.stdio;
import std.string;

void main()
{
    string name = readln().chomp();
    writefln("hello %s", name);
}
`,
  },
  nim: {
    piston: src`
let name = stdin.readLine()
echo "hello ", name
`,
  },
  erlang: {
    piston: src`
-module(hello).
-export([main/1]).

main(_Args) ->
    Name = string:trim(io:get_line(""), trailing, "\n"),
    io:format("hello ~s~n", [Name]).
`,
  },
  elixir: {
    piston: src`
name = IO.gets("") |> String.trim()
IO.puts("hello #{name}")
`,
  },
  sqlite3: {
    // SQL reads no input of its own: the shell's .import makes standard input a table.
    piston: src`
CREATE TABLE input (line TEXT);
.import /dev/stdin input
SELECT 'hello ' || line FROM input LIMIT 1;
`,
  },
  'c-clang': {
    piston: src`
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

int main() {
    char *line = NULL;
    size_t size = 0;
    ssize_t n = getline(&line, &size, stdin);
    if (n > 0 && line[n - 1] == '\n') line[n - 1] = '\0';
    printf("hello %s\n", n > 0 ? line : "");
    free(line);
    return 0;
}
`,
  },
  'cpp-clang': {
    piston: src`
#include <iostream>
#include <string>

int main() {
    std::string name;
    std::getline(std::cin, name);
    std::cout << "hello " << name << '\n';
}
`,
  },
  nasm: {
    piston: src`
section .data
    greeting db "hello "
    greeting_len equ $ - greeting

section .bss
    name resb 256

section .text
    global _start

_start:
    mov rax, 0              ; read(0, name, 256)
    mov rdi, 0
    mov rsi, name
    mov rdx, 256
    syscall
    mov r12, rax

    mov rax, 1              ; write(1, greeting, greeting_len)
    mov rdi, 1
    mov rsi, greeting
    mov rdx, greeting_len
    syscall

    mov rax, 1              ; write(1, name, what was read, its newline too)
    mov rdi, 1
    mov rsi, name
    mov rdx, r12
    syscall

    mov rax, 60             ; exit(0)
    xor rdi, rdi
    syscall
`,
  },
  cobol: {
    piston: src`
IDENTIFICATION DIVISION.
PROGRAM-ID. HELLO.
DATA DIVISION.
WORKING-STORAGE SECTION.
01 WS-NAME PIC X(100).
PROCEDURE DIVISION.
    ACCEPT WS-NAME
    DISPLAY "hello " FUNCTION TRIM(WS-NAME)
    STOP RUN.
`,
  },
  lisp: {
    piston: src`
(defun main ()
  (let ((name (read-line)))
    (format t "hello ~a~%" name)))

(main)
`,
  },
  prolog: {
    // GNU Prolog, Judge0's: the program starts itself and halts. Piston's "prolog" is SWI's: this one by its alias.
    pistonLanguage: 'gprolog',
    piston: src`
:- initialization(main).

read_chars(Chars) :-
    get_char(C),
    (   C == '\n' -> Chars = []
    ;   C == end_of_file -> Chars = []
    ;   Chars = [C|Rest], read_chars(Rest)
    ).

main :-
    read_chars(Chars),
    atom_chars(Name, Chars),
    write('hello '), write(Name), nl,
    halt.
`,
  },
  swipl: {
    piston: src`
:- initialization(main).

main :-
    read_line_to_string(user_input, Name),
    format("hello ~w~n", [Name]).
`,
  },
  groovy: {
    piston: src`
def reader = new BufferedReader(new InputStreamReader(System.in))
def name = reader.readLine()
println "hello $name"
`,
  },
  awk: {
    piston: src`
NR == 1 {
    print "hello " $0
    exit
}
`,
  },
  tcl: {
    piston: src`
gets stdin name
puts "hello $name"
`,
  },
  dash: {
    piston: src`
read -r name
printf 'hello %s\n' "$name"
`,
  },
  zsh: {
    piston: src`
read -r name
print -r -- "hello $name"
`,
  },
  ksh: {
    piston: src`
read -r name
print "hello $name"
`,
  },
  luajit: {
    piston: src`
local name = io.read("*l")
io.write("hello ", name, "\n")
`,
  },
  pypy: {
    piston: src`
import sys


def main():
    name = sys.stdin.readline().rstrip("\n")
    print("hello %s" % name)


if __name__ == "__main__":
    main()
`,
  },
  coffeescript: {
    piston: src`
readline = require 'readline'

rl = readline.createInterface input: process.stdin
rl.once 'line', (line) ->
  console.log "hello #{line}"
  rl.close()
`,
  },
  deno: {
    // Piston's "typescript" with any version is TypeScript on Node (tsc's version is higher); "deno" picks Deno.
    pistonLanguage: 'deno',
    piston: src`
const buf = new Uint8Array(1024);
const n = await Deno.stdin.read(buf);
const name = new TextDecoder().decode(buf.subarray(0, n ?? 0)).trim();
console.log('hello ' + name);
`,
  },
  bun: {
    piston: src`
for await (const line of console) {
  console.log('hello ' + line);
  break;
}
`,
  },
  racket: {
    piston: src`
#lang racket

(define name (read-line))
(printf "hello ~a\n" name)
`,
  },
  forth: {
    piston: src`
create inbuf 256 allot
: greet ( -- )
  inbuf 256 stdin read-line throw drop
  ." hello " inbuf swap type cr ;
greet
bye
`,
  },
  guile: {
    piston: src`
(use-modules (ice-9 rdelim))

(define name (read-line))
(display (string-append "hello " name))
(newline)
`,
  },
  ada: {
    // The main procedure named Main, as the main.adb of a `code` job names it (gnatmake builds it from test.adb too).
    piston: src`
with Ada.Text_IO; use Ada.Text_IO;

procedure Main is
   Name : constant String := Get_Line;
begin
   Put_Line ("hello " & Name);
end Main;
`,
  },
  'objective-c': {
    piston: src`
#import <Foundation/Foundation.h>

int main(int argc, const char *argv[]) {
    NSAutoreleasePool *pool = [[NSAutoreleasePool alloc] init];
    NSData *data = [[NSFileHandle fileHandleWithStandardInput] readDataToEndOfFile];
    NSString *text = [[[NSString alloc] initWithData:data encoding:NSUTF8StringEncoding] autorelease];
    NSString *name = [[text componentsSeparatedByString:@"\n"] objectAtIndex:0];
    printf("%s\n", [[NSString stringWithFormat:@"hello %@", name] UTF8String]);
    [pool drain];
    return 0;
}
`,
  },
  octave: {
    piston: src`
name = input('', 's');
printf("hello %s\n", name);
`,
  },
  raku: {
    piston: src`
my $name = get;
say "hello $name";
`,
  },
  crystal: {
    piston: src`
name = gets
puts "hello #{name}"
`,
  },
  emacs: {
    piston: src`
(let ((name (read-from-minibuffer "")))
  (princ (format "hello %s\n" name)))
`,
  },
  'llvm-ir': {
    piston: src`
@.fmt = private unnamed_addr constant [10 x i8] c"hello %s\0A\00"
@.newline = private unnamed_addr constant [2 x i8] c"\0A\00"
@stdin = external global i8*

declare i8* @fgets(i8*, i32, i8*)
declare i64 @strcspn(i8*, i8*)
declare i32 @printf(i8*, ...)

define i32 @main() {
  %buf = alloca [256 x i8]
  %line = getelementptr inbounds [256 x i8], [256 x i8]* %buf, i64 0, i64 0
  %in = load i8*, i8** @stdin
  %got = call i8* @fgets(i8* %line, i32 256, i8* %in)
  %len = call i64 @strcspn(i8* %line, i8* getelementptr inbounds ([2 x i8], [2 x i8]* @.newline, i64 0, i64 0))
  %end = getelementptr inbounds i8, i8* %line, i64 %len
  store i8 0, i8* %end
  %fmt = getelementptr inbounds [10 x i8], [10 x i8]* @.fmt, i64 0, i64 0
  %printed = call i32 (i8*, ...) @printf(i8* %fmt, i8* %line)
  ret i32 0
}
`,
  },
  sml: {
    piston: src`
val name =
  case TextIO.inputLine TextIO.stdIn of
      SOME line => String.substring (line, 0, size line - 1)
    | NONE => ""

val () = print ("hello " ^ name ^ "\n")
`,
  },
  yabasic: {
    piston: src`
line input "" name$
print "hello " + name$
`,
  },
  verilog: {
    piston: src`
module hello;
  localparam STDIN = 32'h8000_0000;
  reg [8*80-1:0] name;
  integer n;

  initial begin
    n = $fgets(name, STDIN);
    if (name[7:0] == "\n") name = name >> 8;
    $display("hello %0s", name);
    $finish;
  end
endmodule
`,
  },
};
