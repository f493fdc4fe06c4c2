import type { Config } from '../config/schema.ts';

/** How the pages present the installation: GATEHOUSE_BRAND__TITLE and GATEHOUSE_BRAND__LOGO_URL. */
export interface Brand {
  title: string;
  logoUrl: string | null;
  /** The logo's origin when it is on another site: the CSP must allow images from it. */
  logoOrigin: string | null;
}

export function brandFromConfig(config: Pick<Config, 'brand'>): Brand {
  const logoUrl = config.brand.logo_url ?? null;
  const logoOrigin = logoUrl && /^https:\/\//.test(logoUrl) ? new URL(logoUrl).origin : null;
  return { title: config.brand.title, logoUrl, logoOrigin };
}

// The brand is one per process (it comes from the configuration), set when the app is built, so
// every page and header helper can use it without threading it through each route.
let current: Brand = { title: 'Gatehouse', logoUrl: null, logoOrigin: null };

export function useBrand(brand: Brand): void {
  current = brand;
}

export const currentBrand = (): Brand => current;
