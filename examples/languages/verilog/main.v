// The first line of standard input says what to do (examples/languages/README.md).
module main;
  // Icarus Verilog's descriptor of standard input.
  localparam STDIN = 32'h8000_0000;
  reg [8*64-1:0] line;
  integer c, n;
  // Verilog-2005 has no dynamic arrays: each call of an automatic function gets its own array (256 KB, which vvp
  // allocates and fills when the call starts), so a recursion that never returns fills memory.
  function automatic integer hog(input integer depth);
    reg [31:0] block [0:65535];
    begin
      block[depth % 65536] = depth;
      hog = hog(depth + 1) + block[0];
    end
  endfunction
  initial begin
    line = 0;
    c = $fgetc(STDIN);
    while (c != -1 && c != 10) begin
      line = {line[8*63-1:0], c[7:0]};
      c = $fgetc(STDIN);
    end
    if (line == "hello") $display("hello world");
    else if (line == "echo") begin
      c = $fgetc(STDIN);
      while (c != -1) begin
        $write("%c", c[7:0]);
        c = $fgetc(STDIN);
      end
    end
    else if (line == "exit") $finish_and_return(3);
    else if (line == "spin") forever n = n + 1;
    else if (line == "hog") n = hog(0);
    $finish;
  end
endmodule
