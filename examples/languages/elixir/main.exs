# The first line of standard input says what to do (examples/languages/README.md).
command =
  case IO.read(:stdio, :line) do
    :eof -> ""
    line -> String.trim(line)
  end

case command do
  "hello" -> IO.puts("hello world")
  "echo" -> with data when is_binary(data) <- IO.read(:stdio, :eof), do: IO.write(data)
  "exit" -> System.halt(3)
  "spin" -> Stream.iterate(0, &(&1 + 1)) |> Stream.run()
  "hog" -> Stream.iterate([], &[:binary.copy(<<length(&1)>>, 1_048_576) | &1]) |> Stream.run()
  _ -> :ok
end
