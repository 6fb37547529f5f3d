# The first line of standard input says what to do (examples/languages/README.md).
use strict;
use warnings;

my $command = <STDIN> // '';
$command =~ s/\s+$//;
if ($command eq 'hello') { print "hello world\n" }
elsif ($command eq 'echo') { local $/; my $rest = <STDIN>; print $rest // '' }
elsif ($command eq 'exit') { exit 3 }
elsif ($command eq 'spin') { 1 while 1 }
elsif ($command eq 'hog') { my @chunks; push @chunks, 'x' x (1 << 20) while 1 }
