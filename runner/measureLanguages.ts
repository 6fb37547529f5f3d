// `node measure-languages.js [LANGUAGES]`, run by runner/Dockerfile once the toolchains are in: prints the languages
// file (core/languageVersions.ts, RUNNER_LANGUAGES_FILE) of the languages in LANGUAGES (comma-separated, or `all`),
// each with the version its toolchain reports. Fails, and with it the image build, when one of them says none.
import { measureLanguages } from '../core/languageVersions.js';
import { selectLanguages } from '../core/languages.js';

const { names, unknown } = selectLanguages(process.argv[2] ?? 'all');
if (unknown.length) {
  process.stderr.write(`LANGUAGES: unknown ${unknown.join(', ')}\n`);
  process.exit(2);
}
const measured = await measureLanguages(names);
const missing = names.filter((n) => !Object.hasOwn(measured, n));
if (missing.length) {
  process.stderr.write(`no version from the toolchain of ${missing.join(', ')}: the image lacks it (see its version command in core/languages.ts)\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify(measured)}\n`);
