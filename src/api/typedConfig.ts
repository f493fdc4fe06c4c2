/**
 * Authentik's typed resources (stages, policies) take `name` beside the type's own fields at the
 * top level of the body; the store keeps the fields as one config object.
 */
export const splitName = ({ name, ...config }: { name?: string; [field: string]: unknown }) => ({ name, config });
