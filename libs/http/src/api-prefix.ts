export const API_PREFIX = 'api/v1';
/** Controllers served at the root instead of under /api/v1. */
export const ROOT_CONTROLLERS = ['health', 'metrics'];
