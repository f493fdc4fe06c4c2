/**
 * The process environment, for blueprints' `!Env` tag: blueprints read variables the operator
 * sets for them (client secrets, hostnames), which are not Gatehouse settings.
 */
export const processEnvironment = (): Record<string, string | undefined> => ({ ...process.env });
