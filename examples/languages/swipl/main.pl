% The first line of standard input says what to do (examples/languages/README.md).
:- initialization(main).

main :- read_line(Codes), atom_codes(Command, Codes), run(Command), halt.

read_line(Codes) :- get_code(C), read_line(C, Codes).
read_line(-1, []) :- !.
read_line(10, []) :- !.
read_line(C, [C|Codes]) :- get_code(D), read_line(D, Codes).

run(hello) :- !, write('hello world'), nl.
run(echo) :- !, echo.
run(exit) :- !, halt(3).
run(spin) :- !, repeat, fail.
run(hog) :- !, hog([]).
run(_).

echo :- get_code(C), ( C =:= -1 -> true ; put_code(C), echo ).

hog(Chunks) :- length(Chunk, 100000), hog([Chunk|Chunks]).
