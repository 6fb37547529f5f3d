// The first line of standard input says what to do (examples/languages/README.md).
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	in := bufio.NewReader(os.Stdin)
	line, _ := in.ReadString('\n')
	switch strings.TrimSpace(line) {
	case "hello":
		fmt.Println("hello world")
	case "echo":
		io.Copy(os.Stdout, in)
	case "exit":
		os.Exit(3)
	case "spin":
		for {
		}
	case "hog":
		var chunks [][]byte
		for {
			chunk := make([]byte, 1<<20)
			for i := range chunk {
				chunk[i] = 1
			}
			chunks = append(chunks, chunk)
		}
	}
}
