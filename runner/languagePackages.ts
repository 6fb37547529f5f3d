// `node language-packages.js debian|npm [LANGUAGES]`: what installs the toolchains of the languages in LANGUAGES
// (comma-separated names, or `all`, the default), space-separated on one line. runner/Dockerfile installs from it (its
// LANGUAGES build argument), scripts/install-deps.sh too. Imports only the recipes: its bundle, copied in before the
// image's toolchain layer, changes only when they do.
import { LANGUAGES, selectLanguages } from '../core/languages.js';

const [kind, selection = 'all'] = process.argv.slice(2);
if (kind !== 'debian' && kind !== 'npm') {
  process.stderr.write('usage: language-packages debian|npm [all|NAME,NAME,...]\n');
  process.exit(2);
}
const { names, unknown } = selectLanguages(selection);
if (unknown.length || !names.length) {
  process.stderr.write(`LANGUAGES: unknown ${unknown.length ? unknown.join(', ') : '(empty)'}; the languages are all or some of ${Object.keys(LANGUAGES).join(',')}\n`);
  process.exit(2);
}
const packages = new Set(names.flatMap((n) => LANGUAGES[n].packages[kind] ?? []));
process.stdout.write(`${[...packages].sort().join(' ')}\n`);
