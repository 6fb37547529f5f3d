; The first line of standard input says what to do (examples/languages/README.md).
; LLVM 14's IR (typed pointers), calling the C library.
@stdin = external global i8*
@hello = private constant [6 x i8] c"hello\00"
@echo = private constant [5 x i8] c"echo\00"
@exit = private constant [5 x i8] c"exit\00"
@spin = private constant [5 x i8] c"spin\00"
@hog = private constant [4 x i8] c"hog\00"
@world = private constant [12 x i8] c"hello world\00"
@eol = private constant [3 x i8] c"\0D\0A\00"

declare i8* @fgets(i8*, i32, i8*)
declare i64 @strcspn(i8*, i8*)
declare i32 @strcmp(i8*, i8*)
declare i32 @puts(i8*)
declare i32 @getchar()
declare i32 @putchar(i32)
declare i8* @malloc(i64)

define i32 @main() {
entry:
  %line = alloca [64 x i8]
  %buf = getelementptr [64 x i8], [64 x i8]* %line, i64 0, i64 0
  store i8 0, i8* %buf
  %in = load i8*, i8** @stdin
  %got = call i8* @fgets(i8* %buf, i32 64, i8* %in)
  %len = call i64 @strcspn(i8* %buf, i8* getelementptr ([3 x i8], [3 x i8]* @eol, i64 0, i64 0))
  %end = getelementptr i8, i8* %buf, i64 %len
  store i8 0, i8* %end
  %is_hello = call i32 @strcmp(i8* %buf, i8* getelementptr ([6 x i8], [6 x i8]* @hello, i64 0, i64 0))
  %h = icmp eq i32 %is_hello, 0
  br i1 %h, label %do_hello, label %not_hello

do_hello:
  call i32 @puts(i8* getelementptr ([12 x i8], [12 x i8]* @world, i64 0, i64 0))
  ret i32 0

not_hello:
  %is_echo = call i32 @strcmp(i8* %buf, i8* getelementptr ([5 x i8], [5 x i8]* @echo, i64 0, i64 0))
  %e = icmp eq i32 %is_echo, 0
  br i1 %e, label %echo_loop, label %not_echo

echo_loop:
  %c = call i32 @getchar()
  %eof = icmp slt i32 %c, 0
  br i1 %eof, label %done, label %echo_put

echo_put:
  call i32 @putchar(i32 %c)
  br label %echo_loop

not_echo:
  %is_exit = call i32 @strcmp(i8* %buf, i8* getelementptr ([5 x i8], [5 x i8]* @exit, i64 0, i64 0))
  %x = icmp eq i32 %is_exit, 0
  br i1 %x, label %do_exit, label %not_exit

do_exit:
  ret i32 3

not_exit:
  %is_spin = call i32 @strcmp(i8* %buf, i8* getelementptr ([5 x i8], [5 x i8]* @spin, i64 0, i64 0))
  %s = icmp eq i32 %is_spin, 0
  br i1 %s, label %spin, label %not_spin

spin:
  br label %spin

not_spin:
  %is_hog = call i32 @strcmp(i8* %buf, i8* getelementptr ([4 x i8], [4 x i8]* @hog, i64 0, i64 0))
  %g = icmp eq i32 %is_hog, 0
  br i1 %g, label %hog, label %done

hog:
  %chunk = call i8* @malloc(i64 1048576)
  br label %touch

touch:
  %i = phi i64 [ 0, %hog ], [ %next, %touch ]
  %p = getelementptr i8, i8* %chunk, i64 %i
  store volatile i8 1, i8* %p
  %next = add i64 %i, 4096
  %more = icmp ult i64 %next, 1048576
  br i1 %more, label %touch, label %hog

done:
  ret i32 0
}
