%% The first line of standard input says what to do (examples/languages/README.md).
-module(main).
-export([main/1]).

main(_) ->
    %% Bytes in, bytes out: the program's text passes through unchanged whatever its encoding.
    io:setopts(standard_io, [binary, {encoding, latin1}]),
    Command = case io:get_line("") of eof -> <<>>; Line -> string:trim(Line) end,
    case Command of
        <<"hello">> -> io:put_chars(<<"hello world\n">>);
        <<"echo">> -> echo();
        <<"exit">> -> halt(3);
        <<"spin">> -> spin(0);
        <<"hog">> -> hog([]);
        _ -> ok
    end.

echo() ->
    case io:get_chars("", 65536) of
        eof -> ok;
        Data -> io:put_chars(Data), echo()
    end.

spin(N) -> spin(N + 1).

hog(Chunks) -> hog([binary:copy(<<(length(Chunks) rem 256)>>, 1048576) | Chunks]).
