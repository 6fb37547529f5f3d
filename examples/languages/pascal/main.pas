{ The first line of standard input says what to do (examples/languages/README.md). }
program main;
{$mode objfpc}{$H+}
uses SysUtils;
var
  command, line: string;
  n: Int64;
  chunk: Pointer;
begin
  command := '';
  if not eof then readln(command);
  command := Trim(command);
  if command = 'hello' then
    writeln('hello world')
  else if command = 'echo' then
    while not eof do begin readln(line); writeln(line); end
  else if command = 'exit' then
    halt(3)
  else if command = 'spin' then begin
    n := 0;
    while true do Inc(n);
  end
  else if command = 'hog' then
    while true do begin GetMem(chunk, 1048576); FillChar(chunk^, 1048576, 1); end;
end.
