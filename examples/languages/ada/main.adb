--  The first line of standard input says what to do (examples/languages/README.md).
with Ada.Command_Line;
with Ada.Text_IO; use Ada.Text_IO;

procedure Main is
   Command : constant String := (if End_Of_File then "" else Get_Line);
begin
   if Command = "hello" then
      Put_Line ("hello world");
   elsif Command = "echo" then
      while not End_Of_File loop
         Put_Line (Get_Line);
      end loop;
   elsif Command = "exit" then
      Ada.Command_Line.Set_Exit_Status (3);
   elsif Command = "spin" then
      loop
         null;
      end loop;
   elsif Command = "hog" then
      declare
         type Chunk is array (1 .. 1_048_576) of Character;
         type Chunk_Access is access Chunk;
         Chunks : array (1 .. 100_000) of Chunk_Access;
      begin
         for I in Chunks'Range loop
            Chunks (I) := new Chunk'(others => 'x');
         end loop;
      end;
   end if;
end Main;
