// The stack's Google service accounts are `<name>-<role>`; an account id is 6-30 characters, so it is cut to 30.
export const serviceAccountId = (name: string, role: 'worker' | 'nodes' | 'metrics'): string => `${name}-${role}`.slice(0, 30);
