// The language registry: one recipe per language, the only place that knows it. The judge, the job schema, the
// CLI, the HTTP API's dialects, the process transport's mounts, scripts/install-deps.sh and runner/Dockerfile (both
// through `npm run build`'s dist/languages.tsv) all read these; nothing else switches on a language name.
// Adding a language: a recipe here and examples/languages/<name>/<sourceFile> (see the README).
//
// Placeholders in commands: {entry} the entry file, {entryStem} its name without extension,
// {sources} every file of the job with one of the language's extensions, {memoryMb} the job's memory limit.

export interface LanguageRecipe {
  /** How people call it, e.g. "C++"; Judge0's names are "<title> (<toolchain> <version>)". */
  title: string;
  /** File name used when a job gives `code` instead of `files`. */
  sourceFile: string;
  /** Extensions that identify the language (the CLI infers the language from them). */
  extensions: string[];
  /** Other names a job, the CLI or Piston's API may use for it. */
  aliases: string[];
  /** Compile command, run once before the program; absent for interpreted languages. */
  compile?: string[];
  /** The compile step's CPU limit unless the job sets one (JVM compilers need more than DEFAULT_LIMITS'). */
  compileTimeLimitMs?: number;
  /** Run command; the job's `args` are appended. */
  run: string[];
  /** Environment for compile and run, on top of the sandbox's (HOME and TMPDIR are /tmp, the job's tmpfs). */
  env?: Record<string, string>;
  /** What installs the toolchain: Debian 12 packages, and npm packages installed globally under /usr/local. */
  packages: { debian: string[]; npm?: string[] };
  /** Paths outside /usr its toolchain reads, bound read-only into host sandboxes (the runner image has them). */
  hostPaths?: string[];
  /** A command that prints the version (stdout and stderr are searched) and the pattern whose group 1 is it. */
  version: { command: string[]; pattern: string };
  /** Judge0 CE ids (the first is the primary) and how Judge0 names the toolchain in parentheses. */
  judge0?: { ids: number[]; toolchain?: string };
  /** Piston's language name when it differs from ours, and its `runtime` for runtimes that serve several. */
  piston?: { name?: string; runtime?: string };
}

// JVMs size their heap from the machine, not the sandbox, unless told. A heap as large as the job's memory
// limit makes a memory-hungry program outgrow the limit (memory_limit_exceeded, by measured RSS) instead of
// dying of OutOfMemoryError well below it, and needs no naive address-space limit. Perf data would be written
// to /tmp for nothing.
const JVM_FLAGS = ['-Xmx{memoryMb}m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:-UsePerfData', '-Xshare:auto'];
/** The JVM compilers' wrapper scripts take the JVM's flags from JAVA_OPTS. */
const JVM_COMPILER_ENV = { JAVA_OPTS: JVM_FLAGS.join(' ') };
/**
 * An awk program that reads a Java or Scala source file and prints `public NAME` for its public top-level type (javac
 * wants it in NAME.java) and `main NAME` (package-qualified) for the class to run: the public type when it declares
 * `main`, else the first top-level type that does (Java's `void main(`, Scala's `def main(` or `extends App`). That
 * is the class Piston's single-file launch runs whatever the file is called, and Judge0's `Main` in Main.java.
 * Comments, strings, text blocks and character literals are skipped; braces give the nesting. POSIX awk: the runner
 * image has Debian's mawk.
 */
const JVM_MAIN_CLASS_AWK = String.raw`
function scan(code,    tok) {
  while (match(code, /[A-Za-z_$][A-Za-z0-9_$.]*|[{};(]/)) {
    tok = substr(code, RSTART, RLENGTH); code = substr(code, RSTART + RLENGTH)
    if (tok == "{") { if (depth++ == 0) { body = name; name = "" } }
    else if (tok == "}") { if (--depth == 0) body = "" }
    else if (depth == 0) {
      if (prev == "package") pkg = tok "."
      else if (prev ~ /^(class|interface|enum|record|object)$/) { name = tok; if (pub && pubname == "") pubname = tok }
      else if ((tok == "App" || tok ~ /\.App$/) && name != "") found(name)
      if (tok == "public") pub = 1
    } else if (depth == 1 && body != "" && tok == "main" && (prev == "void" || prev == "def")) found(body)
    if (tok == "{" || tok == "}" || tok == ";") pub = 0
    prev = tok
  }
}
function found(type) { if (first == "") first = type; if (type == pubname) pubmain = type }
{
  s = $0; code = ""
  while (s != "") {
    if (state == "comment") { i = index(s, "*/"); if (i == 0) break; s = substr(s, i + 2); state = ""; continue }
    if (state == "text") { i = index(s, "\"\"\""); if (i == 0) break; s = substr(s, i + 3); state = ""; continue }
    if (!match(s, /\/\/|\/\*|"|'/)) { code = code s; break }
    code = code substr(s, 1, RSTART - 1) " "; t = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
    if (t == "//") break
    if (t == "/*") state = "comment"
    else if (t == "\"" && substr(s, 1, 2) == "\"\"") { s = substr(s, 3); state = "text" }
    else if (t == "\"") { if (match(s, /^([^"\\]|\\.)*"/)) s = substr(s, RLENGTH + 1); else s = "" }
    else if (match(s, /^(\\.[^']*|[^'\\])'/)) s = substr(s, RLENGTH + 1)
  }
  scan(code)
}
END {
  if (pubname != "") print "public " pubname
  main = pubmain != "" ? pubmain : first
  if (main != "") print "main " pkg main
}`;
/**
 * Where a JVM language's compile step leaves the class to run, as a `java` argument file: the run command ends with
 * `@.main-class` (the launcher reads the main class from it; the job's arguments after it are not expanded).
 */
const MAIN_CLASS_FILE = '.main-class';
/**
 * A JVM compile step as a shell script (`sh -c SCRIPT compiler AWK {entry} {sources}`): finds the class to run
 * (JVM_MAIN_CLASS_AWK), runs `compile` on the sources ("$@"), then writes that class, or the entry's stem, to
 * MAIN_CLASS_FILE. With `renamePublic`, an entry whose public type has another name is compiled as a copy named
 * NAME.java, as javac requires (a copy: the job's own files are not the compile step's to rename).
 */
function jvmCompile(compile: string, renamePublic: boolean): string[] {
  const script = [
    'found=$(awk "$1" "$2") || exit',
    'entry=$2; shift 2',
    'public=$(printf "%s\\n" "$found" | sed -n "s/^public //p")',
    'main=$(printf "%s\\n" "$found" | sed -n "s/^main //p")',
    ...(renamePublic ? [
      'if [ -n "$public" ] && [ "${entry##*/}" != "$public.java" ] && [ ! -e "$public.java" ]; then',
      '  cp -- "$entry" "$public.java"',
      '  for f do shift; [ "$f" = "$entry" ] && f=$public.java; set -- "$@" "$f"; done',
      'fi',
    ] : []),
    `${compile} || exit`,
    'stem=${entry##*/}',
    `printf "%s\\n" "\${main:-\${stem%.*}}" > ${MAIN_CLASS_FILE}`,
  ].join('\n');
  return ['sh', '-c', script, compile.split(' ')[0], JVM_MAIN_CLASS_AWK, '{entry}', '{sources}'];
}
/**
 * The version of a Debian package, for toolchains that do not print a real one (kotlinc says "1.3-SNAPSHOT"): only
 * when dpkg has it installed ("ii"), not unpacked half-way nor removed with its configuration left.
 */
const debianVersion = (pkg: string) => ({ command: ['dpkg-query', '-W', '-f', '${db:Status-Abbrev}${Version}', pkg], pattern: '^ii (?:\\d+:)?(\\d+(?:\\.\\d+)+)' });
const gccVersion = (cc: string) => ({ command: [cc, '-dumpfullversion'], pattern: '^(\\d+(?:\\.\\d+)+)' });

/**
 * Deno and Bun come from the npm registry as a package whose postinstall script links the binary of the platform's
 * optional package (installed beside it) in place of a stub; packages are installed without scripts, so the
 * recipes run that binary where npm put it, for whichever architecture the image or host has.
 */
const DENO_BINARY = '/usr/local/lib/node_modules/deno/node_modules/@deno/linux-*/deno';
const BUN_BINARY = '/usr/local/lib/node_modules/bun/node_modules/@oven/bun-linux-*/bin/bun';

export const LANGUAGES: Record<string, LanguageRecipe> = {
  python: {
    title: 'Python', sourceFile: 'main.py', extensions: ['.py'], aliases: ['py', 'py3', 'python3'],
    run: ['python3', '-B', '{entry}'],
    packages: { debian: ['python3'] }, hostPaths: ['/etc/python3*'],
    version: { command: ['python3', '--version'], pattern: 'Python (\\S+)' },
    judge0: { ids: [71, 92] },
  },
  javascript: {
    title: 'JavaScript', sourceFile: 'main.js', extensions: ['.js', '.cjs'], aliases: ['js', 'node', 'node-js', 'node-javascript'],
    run: ['node', '{entry}'],
    packages: { debian: ['nodejs'] },
    version: { command: ['node', '--version'], pattern: 'v(\\S+)' },
    judge0: { ids: [63, 93], toolchain: 'Node.js' }, piston: { runtime: 'node' },
  },
  typescript: {
    title: 'TypeScript', sourceFile: 'main.ts', extensions: ['.ts'], aliases: ['ts', 'node-ts', 'tsc'],
    // Node's own types from @types/node, installed beside the compiler; CommonJS output so `require` works.
    compile: ['tsc', '--target', 'es2022', '--module', 'commonjs', '--types', 'node', '--typeRoots', '/usr/local/lib/node_modules/@types',
      '--skipLibCheck', '--outDir', '.', '{sources}'],
    compileTimeLimitMs: 20000,
    run: ['node', '{entryStem}.js'],
    env: { NODE_OPTIONS: '--max-old-space-size={memoryMb}' },
    packages: { debian: ['nodejs'], npm: ['typescript@5.9.3', '@types/node@20.19.25'] },
    version: { command: ['tsc', '--version'], pattern: 'Version (\\S+)' },
    judge0: { ids: [74, 101] }, piston: { runtime: 'node' },
  },
  bash: {
    title: 'Bash', sourceFile: 'main.sh', extensions: ['.sh'], aliases: ['sh'],
    run: ['bash', '{entry}'],
    packages: { debian: ['bash'] },
    version: { command: ['bash', '--version'], pattern: 'version (\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [46] },
  },
  c: {
    title: 'C', sourceFile: 'main.c', extensions: ['.c'], aliases: ['gcc'],
    compile: ['gcc', '-O2', '-std=gnu17', '-pipe', '-o', 'main', '{sources}', '-lm'],
    run: ['./main'],
    packages: { debian: ['gcc', 'libc6-dev'] },
    version: gccVersion('gcc'),
    judge0: { ids: [50, 48, 49, 103], toolchain: 'GCC' }, piston: { runtime: 'gcc' },
  },
  cpp: {
    title: 'C++', sourceFile: 'main.cpp', extensions: ['.cpp', '.cc', '.cxx'], aliases: ['c++', 'g++'],
    compile: ['g++', '-O2', '-std=gnu++17', '-pipe', '-o', 'main', '{sources}'],
    run: ['./main'],
    packages: { debian: ['g++', 'libc6-dev'] },
    version: gccVersion('g++'),
    judge0: { ids: [54, 52, 53, 105], toolchain: 'GCC' }, piston: { name: 'c++', runtime: 'gcc' },
  },
  java: {
    title: 'Java', sourceFile: 'Main.java', extensions: ['.java'], aliases: [],
    // Piston runs one file whatever it is called (the JDK's single-file launch) and Judge0 compiles Main.java: the
    // entry is compiled as a copy named after its public class, and the class declaring main runs (packages too).
    compile: jvmCompile(`javac ${JVM_FLAGS.map((f) => `-J${f}`).join(' ')} -encoding UTF-8 -d . "$@"`, true),
    run: ['java', ...JVM_FLAGS, '-cp', '.', `@${MAIN_CLASS_FILE}`],
    packages: { debian: ['default-jdk-headless'] }, hostPaths: ['/etc/java-*'],
    version: { command: ['javac', '-version'], pattern: 'javac (\\S+)' },
    judge0: { ids: [62, 91], toolchain: 'OpenJDK' },
  },
  go: {
    title: 'Go', sourceFile: 'main.go', extensions: ['.go'], aliases: ['golang'],
    // No cgo: a static program needs no C toolchain at run time. The build cache goes to the job's /tmp.
    compile: ['go', 'build', '-o', 'main', '{sources}'],
    run: ['./main'],
    env: { CGO_ENABLED: '0', GOCACHE: '/tmp/go-build', GOPATH: '/tmp/go', GO111MODULE: 'off', GOFLAGS: '-buildvcs=false' },
    packages: { debian: ['golang-go'] },
    version: { command: ['go', 'version'], pattern: 'go(\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [60, 107] },
  },
  rust: {
    title: 'Rust', sourceFile: 'main.rs', extensions: ['.rs'], aliases: ['rs'],
    compile: ['rustc', '-O', '--edition', '2021', '-o', 'main', '{entry}'],
    run: ['./main'],
    packages: { debian: ['rustc'] },
    version: { command: ['rustc', '--version'], pattern: 'rustc (\\S+)' },
    judge0: { ids: [73, 108] },
  },
  ruby: {
    title: 'Ruby', sourceFile: 'main.rb', extensions: ['.rb'], aliases: ['rb', 'ruby3'],
    run: ['ruby', '{entry}'],
    packages: { debian: ['ruby'] }, hostPaths: ['/etc/ruby'],
    version: { command: ['ruby', '--version'], pattern: 'ruby (\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [72] },
  },
  php: {
    title: 'PHP', sourceFile: 'main.php', extensions: ['.php'], aliases: ['php8'],
    run: ['php', '{entry}'],
    packages: { debian: ['php-cli'] }, hostPaths: ['/etc/php'],
    version: { command: ['php', '--version'], pattern: 'PHP (\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [68, 98] },
  },
  perl: {
    title: 'Perl', sourceFile: 'main.pl', extensions: ['.pl'], aliases: ['pl'],
    run: ['perl', '{entry}'],
    packages: { debian: ['perl'] }, hostPaths: ['/etc/perl'],
    version: { command: ['perl', '-e', 'print $^V'], pattern: 'v(\\S+)' },
    judge0: { ids: [85] },
  },
  lua: {
    title: 'Lua', sourceFile: 'main.lua', extensions: ['.lua'], aliases: ['lua5.4'],
    run: ['lua5.4', '{entry}'],
    packages: { debian: ['lua5.4'] },
    version: { command: ['lua5.4', '-v'], pattern: 'Lua (\\S+)' },
    judge0: { ids: [64] },
  },
  kotlin: {
    title: 'Kotlin', sourceFile: 'main.kt', extensions: ['.kt'], aliases: ['kt'],
    compile: ['kotlinc', '-nowarn', '-include-runtime', '-d', 'main.jar', '{sources}'],
    compileTimeLimitMs: 30000,
    run: ['java', ...JVM_FLAGS, '-jar', 'main.jar'],
    env: JVM_COMPILER_ENV,
    packages: { debian: ['kotlin', 'default-jdk-headless'] },
    version: debianVersion('kotlin'),
    judge0: { ids: [78, 111] },
  },
  scala: {
    title: 'Scala', sourceFile: 'main.scala', extensions: ['.scala'], aliases: ['sc'],
    // The object to run is the one with a main method or `extends App`, whatever its name (Piston's way; Judge0's
    // is Main).
    compile: jvmCompile('scalac -nowarn -d . "$@"', false),
    compileTimeLimitMs: 30000,
    run: ['java', ...JVM_FLAGS, '-cp', '.:/usr/share/scala/lib/scala-library.jar', `@${MAIN_CLASS_FILE}`],
    env: JVM_COMPILER_ENV,
    packages: { debian: ['scala', 'default-jdk-headless'] },
    version: { command: ['scalac', '-version'], pattern: 'version (\\S+)' },
    judge0: { ids: [81] },
  },
  clojure: {
    title: 'Clojure', sourceFile: 'main.clj', extensions: ['.clj'], aliases: ['clj'],
    run: ['java', ...JVM_FLAGS, '-cp', '/usr/share/java/clojure.jar:/usr/share/java/spec.alpha.jar:/usr/share/java/core.specs.alpha.jar',
      'clojure.main', '{entry}'],
    packages: { debian: ['clojure', 'default-jdk-headless'] },
    version: debianVersion('clojure'),
    judge0: { ids: [86] },
  },
  csharp: {
    title: 'C#', sourceFile: 'main.cs', extensions: ['.cs'], aliases: ['c#', 'cs', 'mono', 'mono-csharp'],
    compile: ['mcs', '-optimize+', '-out:main.exe', '{sources}'],
    run: ['mono', 'main.exe'],
    // Mono writes its per-user configuration under HOME; the shared one is /etc/mono.
    env: { MONO_GC_PARAMS: 'max-heap-size={memoryMb}m' },
    packages: { debian: ['mono-mcs', 'mono-runtime'] }, hostPaths: ['/etc/mono'],
    version: { command: ['mono', '--version'], pattern: 'version (\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [51], toolchain: 'Mono' }, piston: { runtime: 'mono' },
  },
  haskell: {
    title: 'Haskell', sourceFile: 'main.hs', extensions: ['.hs'], aliases: ['hs', 'ghc'],
    compile: ['ghc', '-O', '-v0', '-o', 'main', '{sources}'],
    compileTimeLimitMs: 20000,
    run: ['./main'],
    packages: { debian: ['ghc'] }, hostPaths: ['/var/lib/ghc'],
    version: { command: ['ghc', '--numeric-version'], pattern: '^(\\S+)' },
    judge0: { ids: [61], toolchain: 'GHC' },
  },
  ocaml: {
    title: 'OCaml', sourceFile: 'main.ml', extensions: ['.ml'], aliases: ['ml'],
    compile: ['ocamlopt', '-o', 'main', '{sources}'],
    run: ['./main'],
    packages: { debian: ['ocaml-nox'] },
    version: { command: ['ocamlopt', '-version'], pattern: '^(\\S+)' },
    judge0: { ids: [65] },
  },
  r: {
    title: 'R', sourceFile: 'main.R', extensions: ['.r'], aliases: ['rscript'],
    run: ['Rscript', '--vanilla', '{entry}'],
    packages: { debian: ['r-base-core'] }, hostPaths: ['/etc/R'],
    version: { command: ['Rscript', '--version'], pattern: 'version (\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [80] }, piston: { name: 'rscript' },
  },
  fortran: {
    title: 'Fortran', sourceFile: 'main.f90', extensions: ['.f90', '.f95', '.f03'], aliases: ['f90', 'gfortran'],
    compile: ['gfortran', '-O2', '-o', 'main', '{sources}'],
    run: ['./main'],
    packages: { debian: ['gfortran'] },
    version: gccVersion('gfortran'),
    judge0: { ids: [59], toolchain: 'GFortran' },
  },
  pascal: {
    title: 'Pascal', sourceFile: 'main.pas', extensions: ['.pas', '.pp'], aliases: ['pas', 'fpc', 'freepascal'],
    // -v0 then -ve: errors only, without the banner and the "Linking" chatter.
    compile: ['fpc', '-O2', '-v0', '-ve', '-omain', '{entry}'],
    run: ['./main'],
    packages: { debian: ['fp-compiler'] }, hostPaths: ['/etc/fpc*'],
    version: { command: ['fpc', '-iV'], pattern: '^(\\S+)' },
    judge0: { ids: [67], toolchain: 'FPC' },
  },
  d: {
    title: 'D', sourceFile: 'main.d', extensions: ['.d'], aliases: ['dlang', 'gdc'],
    compile: ['gdc', '-O2', '-o', 'main', '{sources}'],
    run: ['./main'],
    packages: { debian: ['gdc'] },
    version: gccVersion('gdc'),
    judge0: { ids: [56], toolchain: 'GDC' },
  },
  nim: {
    title: 'Nim', sourceFile: 'main.nim', extensions: ['.nim'], aliases: [],
    compile: ['nim', 'compile', '--hints:off', '--verbosity:0', '-d:release', '--nimcache:/tmp/nimcache', '-o:main', '{entry}'],
    compileTimeLimitMs: 20000,
    run: ['./main'],
    packages: { debian: ['nim'] }, hostPaths: ['/etc/nim'],
    version: { command: ['nim', '--version'], pattern: 'Version (\\S+)' },
  },
  erlang: {
    title: 'Erlang', sourceFile: 'main.erl', extensions: ['.erl'], aliases: ['erl', 'escript'],
    // An escript: main/1 is the entry. +S 1: one scheduler, like the sandbox's one CPU.
    run: ['escript', '{entry}'],
    env: { ERL_FLAGS: '+S 1 +sbtu' },
    packages: { debian: ['erlang-base'] },
    version: { command: ['sh', '-c', 'cat /usr/lib/erlang/releases/*/OTP_VERSION'], pattern: '^(\\S+)' },
    judge0: { ids: [58], toolchain: 'OTP' },
  },
  elixir: {
    title: 'Elixir', sourceFile: 'main.exs', extensions: ['.exs', '.ex'], aliases: ['exs', 'iex'],
    run: ['elixir', '{entry}'],
    env: { ERL_FLAGS: '+S 1 +sbtu' },
    packages: { debian: ['elixir', 'erlang-base'] },
    version: { command: ['elixir', '--version'], pattern: 'Elixir (\\S+)' },
    judge0: { ids: [57] },
  },
  sqlite3: {
    title: 'SQL', sourceFile: 'main.sql', extensions: ['.sql'], aliases: ['sql', 'sqlite'],
    // A fresh in-memory database; -bail stops at the first error with exit code 1.
    run: ['sqlite3', '-bail', '-batch', ':memory:', '.read {entry}'],
    packages: { debian: ['sqlite3'] },
    version: { command: ['sqlite3', '--version'], pattern: '^(\\S+)' },
    judge0: { ids: [82], toolchain: 'SQLite' },
  },
  'c-clang': {
    title: 'C', sourceFile: 'main.c', extensions: ['.c'], aliases: ['clang'],
    compile: ['clang', '-O2', '-std=gnu17', '-pipe', '-o', 'main', '{sources}', '-lm'],
    run: ['./main'],
    packages: { debian: ['clang', 'libc6-dev'] },
    version: { command: ['clang', '-dumpversion'], pattern: '^(\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [75], toolchain: 'Clang' },
  },
  'cpp-clang': {
    title: 'C++', sourceFile: 'main.cpp', extensions: ['.cpp', '.cc', '.cxx'], aliases: ['clang++'],
    compile: ['clang++', '-O2', '-std=gnu++17', '-pipe', '-o', 'main', '{sources}'],
    run: ['./main'],
    packages: { debian: ['clang', 'libc6-dev'] },
    version: { command: ['clang++', '-dumpversion'], pattern: '^(\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [76], toolchain: 'Clang' },
  },
  nasm: {
    title: 'Assembly', sourceFile: 'main.asm', extensions: ['.asm', '.nasm'], aliases: ['asm', 'nasm64', 'asm64'],
    // x86-64 Linux, linked without a C library: the program starts at _start (Judge0's nasmld, Piston's nasm64).
    compile: ['sh', '-c', 'nasm -f elf64 -o main.o "$0" && ld -o main main.o', '{entry}'],
    run: ['./main'],
    packages: { debian: ['nasm', 'binutils'] },
    version: { command: ['nasm', '-v'], pattern: 'version (\\S+)' },
    judge0: { ids: [45], toolchain: 'NASM' },
  },
  cobol: {
    title: 'COBOL', sourceFile: 'main.cob', extensions: ['.cob', '.cbl', '.cobol'], aliases: ['cob', 'gnucobol', 'cobc'],
    // Free format, as Judge0 and Piston compile it; cobc translates to C and has GCC build that.
    compile: ['cobc', '-free', '-x', '-O', '-o', 'main', '{sources}'],
    run: ['./main'],
    packages: { debian: ['gnucobol3'] }, hostPaths: ['/etc/gnucobol'],
    version: { command: ['cobc', '--version'], pattern: 'GnuCOBOL\\) (\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [77], toolchain: 'GnuCOBOL' },
  },
  lisp: {
    title: 'Common Lisp', sourceFile: 'main.lisp', extensions: ['.lisp', '.lsp', '.cl'], aliases: ['cl', 'sbcl', 'commonlisp', 'common-lisp'],
    // A heap (reserved, not used) above any memory limit: the limit stops a hungry program, not a heap exhausted
    // below it (Debian's SBCL reserves 1 GB).
    run: ['sbcl', '--dynamic-space-size', '4096', '--script', '{entry}'],
    packages: { debian: ['sbcl'] },
    version: { command: ['sbcl', '--version'], pattern: 'SBCL (\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [55], toolchain: 'SBCL' },
  },
  prolog: {
    title: 'Prolog', sourceFile: 'main.pro', extensions: ['.pro'], aliases: ['gprolog', 'gplc'],
    // Judge0's way: a program without the interactive top level, started by its `:- initialization(main).`
    compile: ['gplc', '--no-top-level', '-o', 'main', '{sources}'],
    run: ['./main'],
    // GNU Prolog fixes its stacks' sizes at start (the global stack 32 MB): in KB, above any memory limit, so that
    // the limit decides; only what is used is memory.
    env: { GLOBALSZ: '2000000' },
    packages: { debian: ['gprolog'] },
    version: { command: ['gplc', '--version'], pattern: 'GNU Prolog\\) (\\S+)' },
    judge0: { ids: [69], toolchain: 'GNU Prolog' }, piston: { runtime: 'gprolog' },
  },
  swipl: {
    title: 'Prolog', sourceFile: 'main.pl', extensions: ['.pl'], aliases: ['swi-prolog', 'swiprolog'],
    // Piston's way: the file consulted (its initialization goals run), then halt; an error it printed makes the
    // exit status 1 (Piston's exits 0). Piston's "prolog" names it beside GNU Prolog's runtime; the newer version,
    // this one, answers a request for any version.
    run: ['swipl', '--on-error=status', '-g', 'true', '-t', 'halt', '{entry}'],
    packages: { debian: ['swi-prolog-nox'] },
    version: { command: ['swipl', '--version'], pattern: 'version (\\S+)' },
    piston: { name: 'prolog', runtime: 'swipl' },
  },
  groovy: {
    title: 'Groovy', sourceFile: 'main.groovy', extensions: ['.groovy', '.gvy'], aliases: ['gvy'],
    // Compiled ahead, run on the JVM with Groovy's jars (Judge0's way); a script's class is named after its file.
    compile: ['groovyc', '{sources}'],
    compileTimeLimitMs: 30000,
    run: ['java', ...JVM_FLAGS, '-cp', '.:/usr/share/groovy/lib/*', '{entryStem}'],
    env: JVM_COMPILER_ENV,
    packages: { debian: ['groovy', 'default-jdk-headless'] }, hostPaths: ['/etc/groovy'],
    version: debianVersion('groovy'),
    judge0: { ids: [88] },
  },
  awk: {
    title: 'AWK', sourceFile: 'main.awk', extensions: ['.awk'], aliases: ['gawk'],
    run: ['gawk', '-f', '{entry}'],
    packages: { debian: ['gawk'] },
    version: { command: ['gawk', '--version'], pattern: 'GNU Awk (\\d+(?:\\.\\d+)+)' },
    piston: { runtime: 'gawk' },
  },
  tcl: {
    title: 'Tcl', sourceFile: 'main.tcl', extensions: ['.tcl'], aliases: ['tclsh'],
    run: ['tclsh', '{entry}'],
    packages: { debian: ['tcl'] },
    version: { command: ['sh', '-c', 'echo "puts [info patchlevel]" | tclsh'], pattern: '^(\\d+(?:\\.\\d+)+)' },
  },
  dash: {
    title: 'Dash', sourceFile: 'main.dash', extensions: ['.dash'], aliases: [],
    run: ['dash', '{entry}'],
    packages: { debian: ['dash'] },
    version: debianVersion('dash'),
  },
  zsh: {
    title: 'Zsh', sourceFile: 'main.zsh', extensions: ['.zsh'], aliases: [],
    run: ['zsh', '{entry}'],
    packages: { debian: ['zsh'] },
    version: { command: ['zsh', '--version'], pattern: 'zsh (\\S+)' },
  },
  ksh: {
    title: 'KornShell', sourceFile: 'main.ksh', extensions: ['.ksh'], aliases: ['ksh93'],
    run: ['ksh', '{entry}'],
    packages: { debian: ['ksh'] },
    version: { command: ['ksh', '-c', 'echo ${.sh.version}'], pattern: '93u\\+m/(\\d+(?:\\.\\d+)+)' },
  },
  luajit: {
    title: 'LuaJIT', sourceFile: 'main.lua', extensions: ['.lua'], aliases: [],
    run: ['luajit', '{entry}'],
    packages: { debian: ['luajit'] },
    version: { command: ['luajit', '-v'], pattern: 'LuaJIT (\\d+(?:\\.\\d+)+)' },
  },
  pypy: {
    title: 'Python (PyPy)', sourceFile: 'main.py', extensions: ['.py'], aliases: ['pypy3'],
    run: ['pypy3', '-B', '{entry}'],
    packages: { debian: ['pypy3'] },
    version: { command: ['pypy3', '--version'], pattern: 'PyPy (\\d+(?:\\.\\d+)+)' },
  },
  coffeescript: {
    title: 'CoffeeScript', sourceFile: 'main.coffee', extensions: ['.coffee'], aliases: ['coffee'],
    run: ['coffee', '{entry}'],
    packages: { debian: ['nodejs'], npm: ['coffeescript@2.7.0'] },
    version: { command: ['coffee', '--version'], pattern: 'version (\\S+)' },
  },
  deno: {
    title: 'TypeScript (Deno)', sourceFile: 'main.ts', extensions: ['.ts', '.js'], aliases: ['deno-ts', 'deno-js'],
    // Piston's way (`deno run`, its test file test.deno.ts), with every permission: the sandbox is the boundary, not
    // Deno's prompts, which without a terminal fail a program that reads a file or the environment. No network, so
    // a remote import fails; the module cache (DENO_DIR) is the job's /tmp.
    run: ['sh', '-c', `exec ${DENO_BINARY} run --allow-all "$@"`, 'deno', '{entry}'],
    // V8's heap as large as the job's memory limit, as for TypeScript on Node.
    env: { DENO_DIR: '/tmp/deno', DENO_V8_FLAGS: '--max-old-space-size={memoryMb}', DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    packages: { debian: [], npm: ['deno@2.9.6'] },
    version: { command: ['sh', '-c', `exec ${DENO_BINARY} --version`], pattern: 'deno (\\d+(?:\\.\\d+)+)' },
    piston: { name: 'typescript', runtime: 'deno' },
  },
  bun: {
    title: 'TypeScript (Bun)', sourceFile: 'main.ts', extensions: ['.ts', '.js'], aliases: ['bun-ts', 'bun-js', 'bunjs'],
    // No auto-install (it would fetch a missing import's package from the registry); caches go to the job's /tmp.
    run: ['sh', '-c', `exec ${BUN_BINARY} run --no-install "$@"`, 'bun', '{entry}'],
    env: { BUN_INSTALL_CACHE_DIR: '/tmp/bun-cache', BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0', DO_NOT_TRACK: '1', NO_COLOR: '1' },
    packages: { debian: [], npm: ['bun@1.4.5'] },
    version: { command: ['sh', '-c', `exec ${BUN_BINARY} --version`], pattern: '^(\\d+(?:\\.\\d+)+)' },
  },
  racket: {
    title: 'Racket', sourceFile: 'main.rkt', extensions: ['.rkt'], aliases: ['rkt'],
    // Compiled ahead to compiled/*.zo, which `racket` loads instead of expanding the module at every run: expanding
    // `#lang racket` instantiates the macros of the whole language (0.44 s of CPU and 132 MB a run in the sandbox;
    // 0.31 s and 95 MB with the .zo). A syntax error is a compile error.
    compile: ['raco', 'make', '{sources}'],
    run: ['racket', '{entry}'],
    packages: { debian: ['racket'] }, hostPaths: ['/etc/racket'],
    version: { command: ['racket', '--version'], pattern: 'v(\\d+(?:\\.\\d+)+)' },
  },
  forth: {
    title: 'Forth', sourceFile: 'main.fs', extensions: ['.fs', '.fth', '.4th'], aliases: ['gforth'],
    // Piston's way: the file is interpreted, then gforth reads commands from standard input unless it says `bye`.
    // Gforth catches the CPU limit's SIGXCPU and exits 128 + its number: the shell dies of that signal instead, so
    // that the verdict sees what the kernel sent.
    run: ['sh', '-c', 'gforth "$@"; status=$?; [ "$status" -le 128 ] || kill -s "$(kill -l "$status")" $$; exit "$status"', 'gforth', '{entry}'],
    packages: { debian: ['gforth'] },
    version: { command: ['gforth', '--version'], pattern: 'gforth (\\S+)' },
  },
  guile: {
    title: 'Scheme (Guile)', sourceFile: 'main.scm', extensions: ['.scm'], aliases: ['scheme'],
    // Interpreted: auto-compilation would compile the program into a cache under HOME first.
    run: ['guile', '--no-auto-compile', '{entry}'],
    packages: { debian: ['guile-3.0'] },
    version: { command: ['guile', '--version'], pattern: 'Guile\\) (\\S+)' },
  },
  ada: {
    title: 'Ada', sourceFile: 'main.adb', extensions: ['.adb', '.ads'], aliases: ['gnat'],
    // GNAT finds each unit in the file named after it: the main procedure `Main` is in main.adb.
    compile: ['gnatmake', '-q', '-O2', '-o', 'main', '{entry}'],
    run: ['./main'],
    packages: { debian: ['gnat'] },
    version: { command: ['gnatmake', '--version'], pattern: 'GNATMAKE (\\d+(?:\\.\\d+)+)' },
  },
  'objective-c': {
    title: 'Objective-C', sourceFile: 'main.m', extensions: ['.m'], aliases: ['objc', 'obj-c', 'objectivec'],
    // Judge0's way: Clang with GNUstep's Foundation on GCC's Objective-C runtime, whose headers are GCC's (the
    // flags gnustep-config prints, less its warnings and debug info). That runtime synthesizes no properties:
    // @synthesize them.
    compile: ['sh', '-c', 'clang -O2 -fexceptions -fobjc-exceptions -fconstant-string-class=NSConstantString -DGNUSTEP '
      + '-DGNUSTEP_BASE_LIBRARY=1 -DGNU_RUNTIME=1 -D_NATIVE_OBJC_EXCEPTIONS -pthread -I/usr/include/GNUstep '
      + '-idirafter "$(gcc -print-file-name=include)" -o main "$@" -lgnustep-base -lobjc -lm', 'clang', '{sources}'],
    run: ['./main'],
    packages: { debian: ['clang', 'gcc', 'libgnustep-base-dev'] }, hostPaths: ['/etc/GNUstep'],
    version: { command: ['clang', '-dumpversion'], pattern: '^(\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [79], toolchain: 'Clang' },
  },
  octave: {
    title: 'Octave', sourceFile: 'main.m', extensions: ['.m'], aliases: ['matlab', 'm'],
    run: ['octave-cli', '--no-history', '--norc', '--quiet', '{entry}'],
    // One BLAS thread: the sandbox has one CPU, whatever the machine has.
    env: { OPENBLAS_NUM_THREADS: '1' },
    packages: { debian: ['octave'] },
    version: { command: ['octave-cli', '--version'], pattern: 'version (\\d+(?:\\.\\d+)+)' },
    judge0: { ids: [66] },
  },
  raku: {
    title: 'Raku', sourceFile: 'main.raku', extensions: ['.raku', '.p6', '.pl6'], aliases: ['rakudo', 'perl6', 'p6', 'pl6'],
    run: ['raku', '{entry}'],
    packages: { debian: ['rakudo'] },
    version: { command: ['raku', '--version'], pattern: 'Rakudo\\S* v(\\d+(?:\\.\\d+)+)' },
  },
  crystal: {
    title: 'Crystal', sourceFile: 'main.cr', extensions: ['.cr'], aliases: ['cr'],
    compile: ['crystal', 'build', '--no-color', '-o', 'main', '{entry}'],
    compileTimeLimitMs: 30000,
    run: ['./main'],
    env: { CRYSTAL_CACHE_DIR: '/tmp/crystal' },
    packages: { debian: ['crystal'] },
    version: { command: ['crystal', '--version'], pattern: 'Crystal (\\d+(?:\\.\\d+)+)' },
  },
  emacs: {
    title: 'Emacs Lisp', sourceFile: 'main.el', extensions: ['.el'], aliases: ['elisp', 'el', 'emacs-lisp'],
    run: ['emacs', '-Q', '--script', '{entry}'],
    packages: { debian: ['emacs-nox'] },
    version: { command: ['emacs', '--version'], pattern: 'GNU Emacs (\\d+(?:\\.\\d+)+)' },
  },
  'llvm-ir': {
    title: 'LLVM IR', sourceFile: 'main.ll', extensions: ['.ll'], aliases: ['llvm', 'll'],
    // Piston's way: the IR as written, compiled to machine code without the optimizer's passes; the target is this
    // machine's, whatever triple the module names.
    compile: ['clang', '-Wno-override-module', '-o', 'main', '{sources}'],
    run: ['./main'],
    packages: { debian: ['clang', 'libc6-dev'] },
    version: { command: ['clang', '-dumpversion'], pattern: '^(\\d+(?:\\.\\d+)+)' },
    piston: { name: 'llvm_ir' },
  },
  sml: {
    title: 'Standard ML', sourceFile: 'main.sml', extensions: ['.sml'], aliases: ['polyml', 'poly'],
    run: ['poly', '--script', '{entry}'],
    packages: { debian: ['polyml'] },
    version: { command: ['poly', '-v'], pattern: 'Poly/ML (\\d+(?:\\.\\d+)+)' },
  },
  yabasic: {
    title: 'BASIC (yabasic)', sourceFile: 'main.yab', extensions: ['.yab', '.bas'], aliases: ['yab', 'basic'],
    run: ['yabasic', '{entry}'],
    packages: { debian: ['yabasic'] },
    version: { command: ['yabasic', '-version'], pattern: 'yabasic (\\d+(?:\\.\\d+)+)' },
  },
  verilog: {
    title: 'Verilog', sourceFile: 'main.v', extensions: ['.v'], aliases: ['iverilog', 'vvp'],
    // Piston's way: Icarus Verilog compiles the design (its default language generation), vvp simulates it; the
    // job's arguments are vvp's plusargs. -n: a $stop ends the simulation instead of waiting for commands on stdin.
    compile: ['iverilog', '-o', 'main', '{sources}'],
    run: ['vvp', '-n', 'main'],
    packages: { debian: ['iverilog'] },
    version: { command: ['iverilog', '-V'], pattern: 'Icarus Verilog version (\\d+(?:\\.\\d+)+)' },
    piston: { name: 'iverilog' },
  },
};

/**
 * A selection of languages as the LANGUAGES build argument, install-deps.sh and the runnerLanguages stack key
 * take it: `all`, or registry names separated by commas (spaces around them allowed); each named once.
 */
export function selectLanguages(selection: string): { names: string[]; unknown: string[] } {
  const names = selection.trim() === 'all' ? Object.keys(LANGUAGES) : [...new Set(selection.split(',').map((n) => n.trim()).filter(Boolean))];
  return { names, unknown: names.filter((n) => !Object.hasOwn(LANGUAGES, n)) };
}

export function languageFor(name: string): LanguageRecipe | undefined {
  return Object.hasOwn(LANGUAGES, name) ? LANGUAGES[name] : undefined;
}

/** The registry name for a name or an alias (case-insensitive), or undefined. */
export function canonicalLanguage(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (Object.hasOwn(LANGUAGES, lower)) return lower;
  return Object.keys(LANGUAGES).find((n) => LANGUAGES[n].aliases.includes(lower) || LANGUAGES[n].piston?.name === lower);
}

export function languageOfFile(fileName: string): string | undefined {
  const lower = fileName.toLowerCase();
  return Object.keys(LANGUAGES).find((name) => LANGUAGES[name].extensions.some((ext) => lower.endsWith(ext)));
}

export interface CommandContext {
  entry: string;
  sources: string[];
  memoryMb: number;
}

function expandPart(part: string, ctx: CommandContext): string {
  const stem = ctx.entry.replace(/\.[^.]*$/, '');
  return part.replaceAll('{entry}', ctx.entry).replaceAll('{entryStem}', stem).replaceAll('{memoryMb}', String(ctx.memoryMb));
}

/** Expands a recipe command; {sources} expands to several arguments, the rest in place. */
export function expandCommand(template: string[], ctx: CommandContext): string[] {
  return template.flatMap((part) => (part === '{sources}' ? ctx.sources : [expandPart(part, ctx)]));
}

/** The recipe's environment for one job, placeholders expanded. */
export function expandEnv(recipe: LanguageRecipe, ctx: CommandContext): Record<string, string> {
  return Object.fromEntries(Object.entries(recipe.env ?? {}).map(([k, v]) => [k, expandPart(v, ctx)]));
}

/** The version a recipe's version command printed, or null when it printed none. */
export function parseVersion(recipe: LanguageRecipe, output: string): string | null {
  return new RegExp(recipe.version.pattern, 'm').exec(output.trim())?.[1] ?? null;
}
