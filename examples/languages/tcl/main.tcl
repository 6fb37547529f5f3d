# The first line of standard input says what to do (examples/languages/README.md).
# Binary channels: the bytes pass through unchanged whatever their encoding.
fconfigure stdin -translation binary
fconfigure stdout -translation binary
set command [string trim [gets stdin]]
switch -- $command {
  hello { puts "hello world" }
  echo { puts -nonewline [read stdin] }
  exit { exit 3 }
  spin { while 1 {} }
  hog {
    set chunks {}
    while 1 { lappend chunks [string repeat x 1048576][llength $chunks] }
  }
}
