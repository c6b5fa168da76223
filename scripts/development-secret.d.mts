export const DEVELOPMENT_SECRET_FILE: string;
export function developmentJwtSecret(): string;
