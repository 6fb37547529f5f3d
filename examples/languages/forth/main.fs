\ The first line of standard input says what to do (examples/languages/README.md).
create line 256 allot
create buf 65536 allot
: command ( -- c-addr u ) line 256 stdin read-line throw drop line swap ;
: echo ( -- ) begin buf 65536 stdin read-file throw dup while buf swap type repeat drop ;
: spin ( -- ) begin again ;
: hog ( -- ) begin 1048576 allocate throw 1048576 1 fill again ;
: run ( c-addr u -- )
  2dup s" hello" compare 0= if 2drop ." hello world" cr exit then
  2dup s" echo" compare 0= if 2drop echo exit then
  2dup s" exit" compare 0= if 2drop 3 (bye) then
  2dup s" spin" compare 0= if 2drop spin then
  2dup s" hog" compare 0= if 2drop hog then
  2drop ;
command run bye
