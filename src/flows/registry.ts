import type { StageDefinition } from './stage.ts';
import { authenticatorStaticStage, authenticatorTotpStage } from './stages/authenticatorSetup.ts';
import { authenticatorValidateStage } from './stages/authenticatorValidate.ts';
import { authenticatorWebauthnStage } from './stages/authenticatorWebauthn.ts';
import { consentStage } from './stages/consent.ts';
import { emailStage } from './stages/email.ts';
import { invitationStage } from './stages/invitation.ts';
import { identificationStage } from './stages/identification.ts';
import { passwordStage } from './stages/password.ts';
import { promptStage } from './stages/prompt.ts';
import { denyStage, userLoginStage, userLogoutStage } from './stages/session.ts';
import { userWriteStage } from './stages/userWrite.ts';

// biome-ignore lint/suspicious/noExplicitAny: each stage has its own config type; the executor parses it first.
type AnyStage = StageDefinition<any>;

/** Every stage type a flow can bind, by its type name (as stored in stages.type). */
const STAGES = new Map<string, AnyStage>(
  [
    identificationStage,
    passwordStage,
    authenticatorValidateStage,
    authenticatorTotpStage,
    authenticatorStaticStage,
    authenticatorWebauthnStage,
    userLoginStage,
    userLogoutStage,
    denyStage,
    consentStage,
    promptStage,
    userWriteStage,
    emailStage,
    invitationStage,
  ].map((stage: AnyStage) => [stage.type, stage]),
);

export function stageDefinition(type: string): StageDefinition<Record<string, unknown>> | null {
  return STAGES.get(type) ?? null;
}

export const stageTypes = (): string[] => [...STAGES.keys()];
