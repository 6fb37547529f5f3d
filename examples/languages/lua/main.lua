-- The first line of standard input says what to do (examples/languages/README.md). Lua 5.1 as well (LuaJIT runs
-- it too): "*l" and "*a", no bit operators.
local command = (io.read("*l") or ""):gsub("%s+$", "")
if command == "hello" then
  print("hello world")
elseif command == "echo" then
  io.write(io.read("*a"))
elseif command == "exit" then
  os.exit(3)
elseif command == "spin" then
  while true do end
elseif command == "hog" then
  local chunks = {}
  while true do chunks[#chunks + 1] = string.rep("x", 1048576) .. #chunks end
end
