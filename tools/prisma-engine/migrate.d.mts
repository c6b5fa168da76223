export declare const migrationsDir: string;
export declare function applyMigrations(url: string): Promise<string[]>;
export declare function pendingMigrations(url: string): Promise<string[]>;
