;;; The first line of standard input says what to do (examples/languages/README.md).
(use-modules (ice-9 rdelim) (ice-9 binary-ports) (rnrs bytevectors))
(define line (read-line))
(define command (if (eof-object? line) "" (string-trim-right line)))
(cond
 ((string=? command "hello") (display "hello world") (newline))
 ;; Bytes in, bytes out: the text passes through unchanged whatever the locale's encoding.
 ((string=? command "echo")
  (let ((rest (get-bytevector-all (current-input-port))))
    (unless (eof-object? rest) (put-bytevector (current-output-port) rest))))
 ((string=? command "exit") (exit 3))
 ((string=? command "spin") (let loop () (loop)))
 ((string=? command "hog") (let loop ((chunks '())) (loop (cons (make-bytevector 1048576 1) chunks)))))
