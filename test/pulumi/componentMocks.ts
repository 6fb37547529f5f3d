// Builds a piece of Pulumi program (one concern of a target, or one component) under mocks and records what it
// registers, for the tests that look at one concern alone. The mocks answer as the stack tests' do (harness.ts);
// `capture` may be called once per test (it reinstalls the mocks each time).
import * as pulumi from '@pulumi/pulumi';
import { ACCOUNT, recordResources, type Registered } from './harness.js';

export const MOCK_ACCOUNT = ACCOUNT;

export interface Captured {
  resources: Registered[];
  all(type: string): Registered[];
  /** The one resource of a type (named `name`, when given); throws unless exactly one. */
  one(type: string, name?: string): Registered;
}

/** A bare component to parent a concern's resources, as the environment component does. */
export class TestParent extends pulumi.ComponentResource {
  constructor(name: string) {
    super('code-execution:test:Parent', name, {});
  }
}

/** Installs the mocks, runs `build` (which creates resources), and waits until every registration is answered. */
export async function capture(build: () => void): Promise<Captured> {
  const resources = await recordResources('components');
  build();
  await pulumi.runtime.disconnect();
  const all = (type: string) => resources.filter((r) => r.type === type);
  return {
    resources,
    all,
    one(type, name) {
      const found = all(type).filter((r) => name === undefined || r.name === name);
      if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ''}, found ${found.length}: ${found.map((r) => r.name).join(', ')}`);
      return found[0];
    },
  };
}
