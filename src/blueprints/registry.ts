import type { BlueprintModel } from './model.ts';
import { applicationModel, groupModel, userModel } from './models/core.ts';
import { flowModel, flowStageBindingModel, policyBindingModel, policyModels, stageModels } from './models/flows.ts';
import { ldapProviderModel, outpostModel } from './models/ldap.ts';
import { oauth2ProviderModel, proxyProviderModel, samlProviderModel } from './models/providers.ts';
import { roleModel } from './models/rbac.ts';

// The models a blueprint may name, in the order an export lists them (referenced before referencing).

export function blueprintModels(): Map<string, BlueprintModel> {
  const models = [
    roleModel,
    groupModel,
    userModel,
    flowModel,
    // Policies before stages: a prompt stage's validation_policies name them (an export's !KeyOf
    // must point back at an earlier entry).
    ...policyModels(),
    ...stageModels(),
    flowStageBindingModel,
    oauth2ProviderModel,
    proxyProviderModel,
    samlProviderModel,
    ldapProviderModel,
    applicationModel,
    policyBindingModel,
    outpostModel,
  ];
  return new Map(models.map((m) => [m.name, m]));
}
