// The `code-exec` command line.
import { parseArgs } from 'node:util';
import { EnvConfigError } from '../envConfig.js';
import { JobRejected } from '../../core/protocol/job.js';
import { LANGUAGES } from '../../core/languages.js';
import { RUNNER_MODE_DESCRIPTIONS, RUNNER_MODE_SETTINGS } from '../../core/runnerModes.js';
import { demoCommand } from './demoCommand.js';
import { JOB_FLAGS, UsageError } from './jobFromFile.js';
import { languagesCommand } from './languagesCommand.js';
import { migrateCommand } from './migrateCommand.js';
import { runCommand } from './runCommand.js';
import { statsCommand } from './statsCommand.js';
import { submitCommand } from './submitCommand.js';
import { workerCommand } from './workerCommand.js';

/** Words joined up to lines of about 70 characters, later lines indented by `indent`. */
function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    if (lines.length && lines[lines.length - 1].length + word.length < 70) lines[lines.length - 1] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join(`\n${' '.repeat(indent)}`);
}

const HELP = `code-exec: run untrusted code safely

usage:
  code-exec worker                 claim jobs from the Redis Stream and run them (config from env, see README)
  code-exec api                    serve the HTTP API: native /v1, Judge0- and Piston-compatible (API_PORT, default 2358)
  code-exec submit FILE [options]  queue FILE as a job and print its result JSON
  code-exec run FILE [options]     run FILE through the runner directly, without the queue
  code-exec stats                  stream length, pending, lag, consumers, dead letters (JSON)
  code-exec languages [--json] [--image IMAGE]
                                   the languages and their toolchain versions: this host's (process mode), or a
                                   runner image's (docker mode)
  code-exec demo                   run examples/ through a local queue and worker, print a verdict table
  code-exec migrate                create or update the PostgreSQL schema (submissions table) at DATABASE_URL

options for submit and run:
  --language L            ${wrap(Object.keys(LANGUAGES).join(', '), 26)}
                          or an alias (default: from FILE's extension)
  --stdin FILE            feed FILE to the program's standard input
  --expected-output FILE  judge the output against FILE (accepted / wrong_answer)
  --time-limit-ms N       CPU time limit (default 2000)
  --memory-limit-mb N     memory limit (default 256)
  --id ID                 job id (default: a random UUID)
submit only:
  --no-wait               print the job id and return without waiting
  --timeout-ms N          how long to wait for the result (default 120000)

environment: REDIS_URL (default redis://127.0.0.1:6379), REDIS_CLUSTER (true: REDIS_URL is a node of a Redis Cluster), STREAM_KEY, CONSUMER_GROUP, RUNNER_MODE (${RUNNER_MODE_SETTINGS.join('|')}),
  SIDECAR_DIR, K8S_NAMESPACE, S3_BUCKET, S3_ENDPOINT, DATABASE_URL, METRICS_PORT (default 9464), CLOUDWATCH_METRICS (see README)

runner modes (RUNNER_MODE):
${RUNNER_MODE_SETTINGS.map((mode) => `  ${mode.padEnd(23)} ${RUNNER_MODE_DESCRIPTIONS[mode]}`).join('\n')}
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...JOB_FLAGS, 'no-wait': { type: 'boolean' }, 'timeout-ms': { type: 'string' }, json: { type: 'boolean' }, image: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, file, ...extra] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return 0;
  }
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  switch (command) {
    case 'worker':
      return workerCommand();
    case 'api':
      // Loaded only here: a worker does not load the HTTP framework.
      return (await import('./apiCommand.js')).apiCommand();
    case 'submit':
      return submitCommand(file, values);
    case 'run':
      return runCommand(file, values);
    case 'stats':
      return statsCommand();
    case 'languages':
      if (file) throw new UsageError(`unexpected argument: ${file}`);
      return languagesCommand(values);
    case 'demo':
      return demoCommand();
    case 'migrate':
      return migrateCommand();
    default:
      throw new UsageError(`unknown command "${command}"; see code-exec --help`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  const known = err instanceof UsageError || err instanceof EnvConfigError || err instanceof JobRejected || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`code-exec: ${known ? (err as Error).message : (err as Error).stack}\n`);
  process.exitCode = known ? 2 : 1;
}
