/** The flow executor's wire format (DESIGN.md, "The flow executor protocol"), as Authentik spells it. */

export interface ErrorDetail {
  string: string;
  code: string;
}
export type ResponseErrors = Record<string, ErrorDetail[]>;

export interface FlowInfo {
  title: string;
  background: string;
  cancel_url: string;
  layout: 'stacked';
}

export interface Challenge {
  type: 'native' | 'redirect';
  component: string;
  flow_info?: FlowInfo;
  response_errors?: ResponseErrors;
  [field: string]: unknown;
}

export const fieldError = (field: string, message: string, code = 'invalid'): ResponseErrors => ({
  [field]: [{ string: message, code }],
});

export const redirectChallenge = (to: string): Challenge => ({ type: 'redirect', component: 'xak-flow-redirect', to });

export const accessDeniedChallenge = (flowInfo: FlowInfo, message: string): Challenge => ({
  type: 'native',
  component: 'ak-stage-access-denied',
  flow_info: flowInfo,
  error_message: message,
});
