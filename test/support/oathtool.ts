import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { generate } from 'otplib';

const hasOathtool = existsSync('/usr/bin/oathtool');

/**
 * The TOTP code for a base32 secret `offsetSteps` time steps from now: from the real oathtool
 * CLI when installed (CI installs it), from otplib otherwise.
 */
export async function totpCode(secret: string, offsetSteps = 0): Promise<string> {
  if (hasOathtool) {
    const when = `now ${offsetSteps >= 0 ? '+' : '-'} ${Math.abs(offsetSteps) * 30} seconds`;
    return execFileSync('oathtool', ['--totp', '-b', '-N', when, secret], { encoding: 'utf8' }).trim();
  }
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });
}

export const secretOf = (configUrl: string): string => new URL(configUrl).searchParams.get('secret') ?? '';
