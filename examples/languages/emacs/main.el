;;; The first line of standard input says what to do (examples/languages/README.md).
;; In batch mode read-from-minibuffer reads a line of standard input, and signals an error at its end.
(defun read-input-line () (condition-case nil (read-from-minibuffer "") (error nil)))
(let ((command (string-trim (or (read-input-line) ""))))
  (cond ((equal command "hello") (princ "hello world\n"))
        ((equal command "echo")
         (let (line) (while (setq line (read-input-line)) (princ line) (princ "\n"))))
        ((equal command "exit") (kill-emacs 3))
        ((equal command "spin") (while t))
        ((equal command "hog")
         (let (chunks) (while t (push (make-string 1048576 ?x) chunks))))))
