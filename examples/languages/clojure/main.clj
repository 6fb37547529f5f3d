; The first line of standard input says what to do (examples/languages/README.md).
(require '[clojure.string :as str])

(case (str/trim (or (read-line) ""))
  "hello" (println "hello world")
  "echo" (do (print (slurp *in*)) (flush))
  "exit" (System/exit 3)
  "spin" (loop [n 0] (recur (inc n)))
  "hog" (loop [chunks []] (recur (conj chunks (byte-array 1048576 (byte 1)))))
  nil)
