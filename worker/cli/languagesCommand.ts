// `code-exec languages`: every recipe with the version its toolchain reports: the host's (what the process
// transport runs, measured now or reused while no toolchain changed), or a runner image's (`--image`, measured when
// it was built). A table, or JSON with --json.
import Docker from 'dockerode';
import { hostLanguageRefusal, hostLanguages, parseInstalledLanguages, RUNNER_LANGUAGES_FILE, type InstalledLanguages } from '../../core/languageVersions.js';
import { LANGUAGES } from '../../core/languages.js';
import { readImageFile } from '../transports/imageFile.js';
import { UsageError } from './jobFromFile.js';

export interface LanguageListing {
  name: string;
  title: string;
  /** null: not installed where measured (or refused: see `refused`). */
  version: string | null;
  /** Why this host does not offer it now although it may be installed (dpkg has not finished its packages). */
  refused?: string;
  aliases: string[];
  extensions: string[];
  sourceFile: string;
  compiled: boolean;
}

export function languageListing(installed: InstalledLanguages, refusal: (name: string) => string | undefined = () => undefined): LanguageListing[] {
  return Object.entries(LANGUAGES).map(([name, r]) => {
    const refused = installed[name] === undefined ? refusal(name) : undefined;
    return {
      name, title: r.title, version: installed[name] ?? null, ...(refused ? { refused } : {}),
      aliases: r.aliases, extensions: r.extensions, sourceFile: r.sourceFile, compiled: r.compile !== undefined,
    };
  });
}

function table(rows: LanguageListing[]): string {
  const cells = [['LANGUAGE', 'VERSION', 'KIND', 'FILE', 'ALIASES'], ...rows.map((l) => [l.name, l.version ?? (l.refused ? '(refused)' : '(not installed)'), l.compiled ? 'compiled' : 'interpreted', l.sourceFile, l.aliases.join(', ')])];
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

async function imageLanguages(image: string): Promise<InstalledLanguages> {
  try {
    return parseInstalledLanguages(await readImageFile(new Docker(), image, RUNNER_LANGUAGES_FILE, { 'code-execution.purpose': 'languages' }));
  } catch (err) {
    // A wrong name, an engine not running, an image from before the languages file: all the user's to fix.
    throw new UsageError(`cannot read ${RUNNER_LANGUAGES_FILE} from the image ${image}: ${(err as Error).message.trim()} (is the Docker engine running, and the image built by npm run images?)`);
  }
}

export async function languagesCommand(flags: { json?: boolean; image?: string }): Promise<number> {
  const installed = flags.image ? await imageLanguages(flags.image) : await hostLanguages();
  const rows = languageListing(installed, flags.image ? undefined : hostLanguageRefusal);
  process.stdout.write(flags.json ? `${JSON.stringify(rows, null, 2)}\n` : table(rows));
  for (const row of rows) if (row.refused) process.stderr.write(`${row.refused}\n`);
  const where = flags.image ? `the image ${flags.image}` : 'this host';
  process.stderr.write(`${Object.keys(installed).length} of ${rows.length} languages installed in ${where}\n`);
  return 0;
}
