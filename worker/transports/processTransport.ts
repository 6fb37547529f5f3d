// The process transport: jobs in sandboxes on this host, made by a long-lived sandbox supervisor
// (core/sandbox/supervisedSandboxes.ts, runner/sandbox/supervisor.c). The embedded default where Docker is absent.
import { hostLanguageRefusal, hostLanguages, type InstalledLanguages } from '../../core/languageVersions.js';
import type { Job } from '../../core/protocol/job.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { SupervisedSandboxes, type SupervisedSandboxOptions } from '../../core/sandbox/supervisedSandboxes.js';
import type { SandboxOwner } from '../../core/sandboxOwner.js';
import { EmptyCgroupSweeper, reapCgroups } from './sandboxCgroup.js';
import type { RunnerTransport } from './transport.js';

export class ProcessTransport implements RunnerTransport {
  readonly mode = 'process' as const;
  private readonly sandboxes: SupervisedSandboxes;
  private installed: Promise<InstalledLanguages> | undefined;
  private readonly emptyCgroups = new EmptyCgroupSweeper();

  constructor(
    private readonly owner: SandboxOwner,
    opts: SupervisedSandboxOptions = {},
  ) {
    this.sandboxes = new SupervisedSandboxes(owner, opts);
  }

  /** Sandboxes ready for a job now. */
  get pooledReady(): number {
    return this.sandboxes.readyCount;
  }

  run(job: Job): Promise<RunOutcome> {
    return this.sandboxes.run(job);
  }

  /** A language dpkg has not finished installing on this host (core/languageVersions.ts), and why. */
  languageRefusal(language: string): string | undefined {
    return hostLanguageRefusal(language);
  }

  /** The host's toolchains: the sandboxes bind its /usr. */
  languages(): Promise<InstalledLanguages> {
    return (this.installed ??= hostLanguages());
  }

  /**
   * Sandboxes die with their supervisor; their cgroups are left to remove: this deployment's dead owners', and
   * any deployment's that stayed empty past the grace period (sandboxCgroup.ts).
   */
  async reapOrphans(isOwnerAlive: (ownerId: string) => Promise<boolean>): Promise<number> {
    const { deployment, ownerId } = this.owner;
    const orphans = await reapCgroups(deployment, async (owner) => owner !== ownerId && !(await isOwnerAlive(owner)));
    return orphans + this.emptyCgroups.sweep();
  }

  /** Ends the supervisor and every sandbox: jobs still running fail, their entries stay pending for another worker. */
  close(): Promise<void> {
    return this.sandboxes.close();
  }
}
