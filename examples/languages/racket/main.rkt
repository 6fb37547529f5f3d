#lang racket/base
;; The first line of standard input says what to do (examples/languages/README.md).
(define line (read-line))
(define command (if (eof-object? line) "" (regexp-replace #px"\\s+$" line "")))
(cond
  [(equal? command "hello") (displayln "hello world")]
  [(equal? command "echo")
   (let loop ()
     (define chunk (read-bytes 65536))
     (unless (eof-object? chunk) (write-bytes chunk) (loop)))]
  [(equal? command "exit") (exit 3)]
  [(equal? command "spin") (let loop () (loop))]
  [(equal? command "hog") (let loop ([chunks '()]) (loop (cons (make-bytes 1048576 1) chunks)))])
