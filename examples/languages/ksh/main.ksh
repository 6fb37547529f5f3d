# The first line of standard input says what to do (examples/languages/README.md).
read -r command
case "$command" in
  hello) echo "hello world" ;;
  echo) cat ;;
  exit) exit 3 ;;
  spin) while :; do :; done ;;
  hog) s=x; while :; do s="$s$s"; done ;;
esac
