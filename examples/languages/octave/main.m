% The first line of standard input says what to do (examples/languages/README.md).
line = fgetl(stdin);
if ~ischar(line)
  line = '';
end
switch strtrim(line)
  case 'hello'
    disp('hello world');
  case 'echo'
    % Bytes in, bytes out: the text passes through unchanged whatever its encoding.
    fwrite(stdout, fread(stdin, Inf, 'uint8'), 'uint8');
  case 'exit'
    exit(3);
  case 'spin'
    while true
    end
  case 'hog'
    chunks = {};
    while true
      chunks{end + 1} = ones(1, 131072);
    end
end
